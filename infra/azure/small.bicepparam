// A small deployment: one silo and one gateway on the Consumption profile, locally redundant storage.
// The registry and image tag come from the shell (docs/azure.md): VIVIM_ACR_NAME, VIVIM_IMAGE_TAG, and VIVIM_VAULT_OFFICER
// (your object id, so that you may set the secrets).
using 'main.bicep'

var registry = readEnvironmentVariable('VIVIM_ACR_NAME')
var imageTag = readEnvironmentVariable('VIVIM_IMAGE_TAG')

param namePrefix = 'vivim'
param containerRegistryName = registry
param gatewayImage = '${registry}.azurecr.io/vivim-gateway:${imageTag}'
param siloImage = '${registry}.azurecr.io/vivim-silo:${imageTag}'
param vaultOfficerPrincipalId = readEnvironmentVariable('VIVIM_VAULT_OFFICER', '')

param siloReplicas = 1
param siloCpu = '1.0'
param siloMemory = '2Gi'
param gatewayCount = 1
param gatewayCpu = '1.0'
param gatewayMemory = '2Gi'
param workloadProfileName = 'Consumption'

param storageSku = 'Standard_LRS'
param blobSoftDeleteDays = 0
param logRetentionDays = 30
param enablePurgeProtection = false

param keyEncryptionKeyIds = [
  'kek_2026_12'
]
param activeKeyEncryptionKeyId = 'kek_2026_12'
