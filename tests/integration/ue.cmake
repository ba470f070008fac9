# mihua-ue integration test: caller and callee agents through the real AS, HSS, UDM and KMS.
mihua_integration_test(ue_calls ue_calls.sh)
mihua_integration_test(ue_matrix ue_matrix.sh)
mihua_integration_test(ue_faults ue_faults.sh)
mihua_integration_test(legacy_phones legacy_phones.sh)
