# mihua-as integration test: sipp UEs through the real AS with mihua-hss and mihua-udm.
mihua_integration_test(as_sipp as_sipp.sh)
