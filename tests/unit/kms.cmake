# KMS unit tests (cmocka). Paths are relative to tests/.
mihua_unit_test(test_kms_crypto SOURCES unit/test_kms_crypto.c LIBS mihua_kms)
mihua_unit_test(test_digest SOURCES unit/test_digest.c LIBS mihua_kms)
