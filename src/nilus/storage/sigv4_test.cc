#include "nilus/storage/sigv4.h"

#include <gtest/gtest.h>

namespace nilus::s3 {
namespace {

// The examples of the Amazon S3 API reference ("Examples: Signature Calculations in AWS
// Signature Version 4"), with the published credentials and expected signatures.
const Credentials kExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(SigV4, EmptyPayloadHash) { EXPECT_EQ(Sha256Hex(""), kEmptyHash); }

TEST(SigV4, GetObjectWithRange) {
  Request r{"GET",
            "/test.txt",
            {},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"Range", "bytes=0-9"},
             {"x-amz-content-sha256", kEmptyHash},
             {"x-amz-date", "20130524T000000Z"}}};
  EXPECT_EQ(Authorization(kExample, "us-east-1", "s3", r, "20130524T000000Z", kEmptyHash),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(SigV4, ListObjectsWithQuery) {
  Request r{"GET",
            "/",
            {{"prefix", "J"}, {"max-keys", "2"}},
            {{"host", "examplebucket.s3.amazonaws.com"},
             {"x-amz-date", "20130524T000000Z"},
             {"x-amz-content-sha256", kEmptyHash}}};
  EXPECT_EQ(Authorization(kExample, "us-east-1", "s3", r, "20130524T000000Z", kEmptyHash),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(SigV4, PutObjectWithBody) {
  const std::string body = "Welcome to Amazon S3.";
  const std::string hash = Sha256Hex(body);
  EXPECT_EQ(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  Request r{"PUT",
            "/test$file.text",
            {},
            {{"Host", "examplebucket.s3.amazonaws.com"},
             {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
             {"x-amz-date", "20130524T000000Z"},
             {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
             {"x-amz-content-sha256", hash}}};
  EXPECT_EQ(Authorization(kExample, "us-east-1", "s3", r, "20130524T000000Z", hash),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
            "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
            "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4, UriEncode) {
  EXPECT_EQ(UriEncode("a b/c~d*e+f", false), "a%20b/c~d%2Ae%2Bf");
  EXPECT_EQ(UriEncode("a/b", true), "a%2Fb");
  EXPECT_EQ(UriEncode("\xc3\xa9", true), "%C3%A9");
}

}  // namespace
}  // namespace nilus::s3
