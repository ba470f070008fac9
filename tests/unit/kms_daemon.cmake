# mihua-kms unit tests (cmocka): the key table and AS verdict, the client against the real API in one process.
mihua_unit_test(test_kms_table SOURCES unit/test_kms_table.c LIBS mihua_kms_daemon)
mihua_unit_test(test_kms_client SOURCES unit/test_kms_client.c LIBS mihua_kms_daemon mihua_kms_client)
