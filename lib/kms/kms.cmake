# KMS building blocks (DESIGN §4): key derivation/wrap and HTTP Digest. Paths are relative to lib/.
add_library(mihua_kms STATIC kms/kms_crypto.c kms/http_digest.c)
target_link_libraries(mihua_kms PUBLIC mihua_core PkgConfig::OPENSSL)
