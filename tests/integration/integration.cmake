mihua_integration_test(hss_probe hss_probe.sh)
include(integration/sbi.cmake OPTIONAL)
