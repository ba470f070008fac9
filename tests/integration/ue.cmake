# mihua-ue integration test (issue 6): caller and callee agents through the real AS, HSS, UDM and KMS.
mihua_integration_test(ue_calls ue_calls.sh)
