// A large deployment: six silos and three gateways on dedicated D8 nodes spread over availability zones,
// zone-redundant storage, purge-protected Key Vault, logs kept 90 days. What changes from small.bicepparam and why:
// docs/azure.md, "Scale".
using 'main.bicep'

var registry = readEnvironmentVariable('VIVIM_ACR_NAME')
var imageTag = readEnvironmentVariable('VIVIM_IMAGE_TAG')

param namePrefix = 'vivim'
param containerRegistryName = registry
param gatewayImage = '${registry}.azurecr.io/vivim-gateway:${imageTag}'
param siloImage = '${registry}.azurecr.io/vivim-silo:${imageTag}'
param vaultOfficerPrincipalId = readEnvironmentVariable('VIVIM_VAULT_OFFICER', '')

param siloReplicas = 6
param siloCpu = '2.0'
param siloMemory = '8Gi'
param gatewayCount = 3
param gatewayCpu = '2.0'
param gatewayMemory = '8Gi'
param workloadProfileName = 'dedicated'
param dedicatedWorkloadProfiles = [
  {
    name: 'dedicated'
    workloadProfileType: 'D8'
    minimumCount: 3
    maximumCount: 6
  }
]
param zoneRedundant = true

param storageSku = 'Standard_ZRS'
param blobSoftDeleteDays = 0
param logRetentionDays = 90
param enablePurgeProtection = true

param keyEncryptionKeyIds = [
  'kek_2026_12'
]
param activeKeyEncryptionKeyId = 'kek_2026_12'
