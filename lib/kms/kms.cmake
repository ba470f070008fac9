# KMS building blocks (DESIGN §4): key derivation/wrap and HTTP Digest. Paths are relative to lib/.
add_library(mihua_kms STATIC kms/kms_crypto.c kms/http_digest_parse.c kms/http_digest_hash.c
  kms/http_digest_header.c kms/http_digest_server.c kms/http_digest_client.c)
target_link_libraries(mihua_kms PUBLIC mihua_core PkgConfig::OPENSSL)
