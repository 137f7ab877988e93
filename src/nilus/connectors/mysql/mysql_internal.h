#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "nilus/connectors/connector.h"
#include "nilus/connectors/mysql/my_connection.h"
#include "nilus/connectors/mysql/my_types.h"

namespace nilus {

/// One column of a MySQL/MariaDB table or query.
struct MyColumn {
  std::string name;
  MyColumnType type;
};

/// A table: its database (MySQL's schema) and name.
struct MyTableName {
  std::string schema;
  std::string name;
  /// "schema"."name" (the session runs with ANSI_QUOTES).
  std::string Ref() const;
};

/// What the protocol says of a result column, with MariaDB's extended metadata.
MyFieldInfo FieldInfo(const MYSQL_FIELD& field);

/// The primary key's columns of `table`, in key order; empty when it has none.
Result<std::vector<std::string>> MyPrimaryKey(MyConnection& conn, const MyTableName& table);

/// Several connections whose transactions see one point in time, and where the binary log
/// stood at that point: FLUSH TABLES WITH READ LOCK is held only while each connection starts
/// its consistent snapshot. Fails with FailedPrecondition when the user may not take the lock
/// (RELOAD) or it is not granted within 30 s.
struct MyConsistentSnapshot {
  std::vector<std::shared_ptr<MyConnection>> connections;
  std::string binlog_file;  ///< "" when the server writes no binary log
  int64_t binlog_position = 0;
  std::string gtid_set;  ///< MariaDB's gtid_binlog_pos, or MySQL's gtid_executed

  static Result<std::unique_ptr<MyConsistentSnapshot>> Open(const Uri& uri, std::stop_token stop, int n);
};

/// The columns of `table` and how they read: the protocol's description of a read of no rows,
/// with the catalog's COLUMN_TYPE.
Result<std::vector<MyColumn>> MyTableColumns(MyConnection& conn, const MyTableName& table);
/// The columns of `SELECT * FROM from`; `column_types` gives the COLUMN_TYPE of those it names.
Result<std::vector<MyColumn>> MyQueryColumns(MyConnection& conn, const std::string& from,
                                             const std::map<std::string, std::string>& column_types);

/// zeroDateTimeBehavior of the address: what a zero date becomes.
Result<ZeroDates> ZeroDatesOf(const Uri& uri);

/// Streams the rows of a query that `conn` runs (`res`, from MyConnection::Stream) in batches.
std::unique_ptr<BatchReader> NewMysqlReader(std::shared_ptr<MyConnection> conn, MYSQL_RES* res,
                                            const std::vector<MyColumn>& columns, std::string what, int64_t page_size,
                                            ZeroDates zero_dates);

/// Change data capture from the binary log (mysql_cdc.cc), and the check of its options.
Result<std::unique_ptr<ChangeSource>> OpenMysqlChangeSource(const Uri& uri, std::stop_token stop);
Status CheckMysqlChangeOptions(const SourceOptions& options);

Result<std::unique_ptr<Source>> OpenMysqlSource(const Uri& uri, std::stop_token stop);
/// The SQL destination over the MySQL/MariaDB server of `uri` (InnoDB tables).
Result<std::unique_ptr<Destination>> OpenMysqlDestination(const Uri& uri, std::stop_token stop);

}  // namespace nilus
