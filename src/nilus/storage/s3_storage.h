#pragma once

#include "nilus/storage/s3_client.h"
#include "nilus/storage/storage.h"

namespace nilus {

/// Objects in one S3 bucket. New objects are written to spool files in a folder of this process
/// (under TMPDIR) and uploaded whole when published; a PUT is atomic, so an object is never seen
/// half written. The spool folders of killed runs are removed by the next run that spools.
std::unique_ptr<Storage> OpenS3Storage(s3::Config config, std::string bucket);

}  // namespace nilus
