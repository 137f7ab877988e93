#include "nilus/connectors/connector.h"

#include "nilus/core/strings.h"

namespace nilus {

Result<std::vector<std::string>> QuotedPrimaryKey(const LoadRequest& request, const Schema& schema) {
  std::vector<std::string> keys;
  for (const auto& k : request.primary_key) {
    if (schema.FieldIndex(k) < 0) {
      return Status::InvalidInput("primary-key column '{}' is not a column of the data; columns are: {}", k,
                                  schema.ToString());
    }
    keys.push_back(QuoteIdent(k));
  }
  return keys;
}

}  // namespace nilus
