# lib/sbi and mihua-udm integration tests: real daemons on 127.0.0.1 against foreign HTTP/2 clients.
mihua_integration_test(udm_h2 udm_h2.sh)
mihua_integration_test(listen_limits listen_limits.sh)
mihua_integration_test(sbi_hostile sbi_hostile.sh)
mihua_integration_test(udm_push udm_push.sh)
