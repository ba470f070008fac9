mihua_integration_test(hss_probe hss_probe.sh)
include(integration/sbi.cmake)
mihua_integration_test(admin admin.sh)
include(integration/kms.cmake)
