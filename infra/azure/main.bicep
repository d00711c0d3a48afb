// Vivim Cloud on Azure: Vivim.Silo and Vivim.Gateway on Azure Container Apps with Azure Storage as their only store
// (Vivim:Storage=Azure), secrets in Key Vault, one user-assigned identity, logs in Log Analytics.
// Step by step: docs/azure.md. Parameters: small.bicepparam, large.bicepparam.

targetScope = 'resourceGroup'

import { dedicatedWorkloadProfile, envVar, keyVaultSecretRef, registryCredential, resourceTags } from 'types.bicep'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Prefix of resource names: lowercase letters, digits and dashes, starting with a letter.')
@minLength(2)
@maxLength(18)
param namePrefix string = 'vivim'

@description('Tags on every resource.')
param tags resourceTags = {
  application: 'vivim'
}

@description('false: only the vault, identity, storage, network and environment (the first step of a new deployment, before the secrets exist); true: the apps and the migrate job too.')
param deployApps bool = true

// Images

@description('Image of Vivim.Gateway (infra/container/Dockerfile, PROJECT=Vivim.Gateway), e.g. myregistry.azurecr.io/vivim-gateway:1.0.0.')
param gatewayImage string

@description('Image of Vivim.Silo (infra/container/Dockerfile, PROJECT=Vivim.Silo).')
param siloImage string

@description('An Azure Container Registry in this resource group that holds the images; the apps\' identity gets AcrPull on it. Empty: the images are public.')
param containerRegistryName string = ''

// Compute

@description('Vivim.Silo replicas (workers).')
@minValue(0)
param siloReplicas int = 1

@description('vCPUs per silo replica.')
param siloCpu string = '1.0'

@description('Memory per silo replica.')
param siloMemory string = '2Gi'

@description('Vivim.Gateway apps: each one replica with its own libp2p port.')
@minValue(1)
@maxValue(20)
param gatewayCount int = 1

@description('vCPUs per gateway.')
param gatewayCpu string = '1.0'

@description('Memory per gateway.')
param gatewayMemory string = '2Gi'

@description('Workload profile the apps run on: Consumption, or the name of one of dedicatedWorkloadProfiles.')
param workloadProfileName string = 'Consumption'

@description('Dedicated workload profiles besides Consumption: [{name, workloadProfileType (D4, D8, E4 …), minimumCount, maximumCount}].')
param dedicatedWorkloadProfiles dedicatedWorkloadProfile[] = []

@description('Spread the environment over availability zones.')
param zoneRedundant bool = false

// Network

@description('Address space of the VNet.')
param vnetAddressPrefix string = '10.42.0.0/16'

@description('Subnet of the Container Apps environment (at least /27; one address per replica).')
param environmentSubnetPrefix string = '10.42.0.0/23'

@description('Public TCP port of the first gateway\'s libp2p peer; gateway i gets this + i.')
@minValue(1024)
@maxValue(65000)
param p2pBasePort int = 4001

@description('libp2p bootstrap peers (/ip4/…/tcp/…/p2p/<peer id>), docs/operations.md "Bootstrap in production"; empty: join no public DHT.')
param p2pBootstrap string[] = []

// Storage

@description('Storage account name (3-24 lowercase letters and digits, unique in Azure).')
@minLength(3)
@maxLength(24)
param storageAccountName string = take('${replace(namePrefix, '-', '')}${uniqueString(resourceGroup().id)}', 24)

@description('Storage redundancy.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Days deleted blobs and containers can be restored; 0 (the default) turns soft delete off. Above 0, a deleted tenant\'s grain state stays restorable for that many days (docs/operations.md, "Erasure").')
@minValue(0)
@maxValue(365)
param blobSoftDeleteDays int = 0

@description('Vivim:Storage:TablePrefix: prefixes every table and container, so several deployments can share an account.')
param tablePrefix string = 'vivim'

// Cluster and keys

@description('Vivim:ServiceId: the Orleans service identity (keep it for the life of the data).')
param serviceId string = 'vivim'

@description('Vivim:ClusterId: the Orleans cluster identity.')
param clusterId string = 'vivim-production'

@description('Key-encryption key ids: kek_ and lowercase letters, digits and underscores (Container Apps allows no dashes in variable names). Each is the Key Vault secret of the same name with dashes for underscores; keep old ids listed until nothing is sealed under them.')
@minLength(1)
param keyEncryptionKeyIds string[] = [
  'kek_2026_12'
]

@description('Vivim:KeyEncryption:ActiveKeyId: the key id that seals new keys; one of keyEncryptionKeyIds.')
param activeKeyEncryptionKeyId string = 'kek_2026_12'

@description('Key Vault name (3-24 letters, digits and dashes, unique in Azure).')
@minLength(3)
@maxLength(24)
param keyVaultName string = take('${namePrefix}-${uniqueString(resourceGroup().id)}', 24)

@description('Object id of who sets the secrets (az ad signed-in-user show --query id -o tsv): gets Key Vault Secrets Officer. Empty: none.')
param vaultOfficerPrincipalId string = ''

@description('Kind of vaultOfficerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param vaultOfficerPrincipalType string = 'User'

@description('Key Vault purge protection (cannot be turned off once on).')
param enablePurgeProtection bool = false

// Logs

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// The ports the image's hosts use (infra/container/Dockerfile, docs/operations.md).
var httpPort = 8080
var siloPort = 11111
var orleansGatewayPort = 30000
var p2pPort = 4001

// Names known before deployment, so that role assignments and What-If see them (not module outputs).
var identityName = '${namePrefix}-identity'
var logAnalyticsWorkspaceName = '${namePrefix}-logs'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    location: location
    name: logAnalyticsWorkspaceName
    retentionInDays: logRetentionDays
    tags: tags
  }
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  params: {
    location: location
    name: identityName
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  dependsOn: [
    identity
  ]
  params: {
    location: location
    name: storageAccountName
    skuName: storageSku
    appIdentityName: identityName
    blobSoftDeleteDays: blobSoftDeleteDays
    tags: tags
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'key-vault'
  dependsOn: [
    identity
  ]
  params: {
    location: location
    name: keyVaultName
    appIdentityName: identityName
    vaultOfficerPrincipalId: vaultOfficerPrincipalId
    vaultOfficerPrincipalType: vaultOfficerPrincipalType
    enablePurgeProtection: enablePurgeProtection
    tags: tags
  }
}

module network 'modules/network.bicep' = {
  name: 'network'
  params: {
    location: location
    name: '${namePrefix}-vnet'
    addressPrefix: vnetAddressPrefix
    environmentSubnetPrefix: environmentSubnetPrefix
    tags: tags
  }
}

module containerAppsEnvironment 'modules/environment.bicep' = {
  name: 'environment'
  dependsOn: [
    monitoring
  ]
  params: {
    location: location
    name: '${namePrefix}-env'
    subnetId: network.outputs.environmentSubnetId
    logAnalyticsWorkspaceName: logAnalyticsWorkspaceName
    dedicatedWorkloadProfiles: dedicatedWorkloadProfiles
    zoneRedundant: zoneRedundant
    tags: tags
  }
}

module registryAccess 'modules/registry-access.bicep' = if (!empty(containerRegistryName)) {
  name: 'registry-access'
  dependsOn: [
    identity
  ]
  params: {
    registryName: containerRegistryName
    appIdentityName: identityName
  }
}

var registries registryCredential[] = empty(containerRegistryName)
  ? []
  : [
      {
        server: '${containerRegistryName}${environment().suffixes.acrLoginServer}'
        identity: identity.outputs.id
      }
    ]

// Container Apps secret names are lowercase letters, digits and dashes, as are the vault's: kek_2026_12 is kek-2026-12.
var keyEncryptionSecretNames = [for id in keyEncryptionKeyIds: replace(id, '_', '-')]

var clusterSecrets keyVaultSecretRef[] = concat(
  [
    {
      name: 'cluster-secret'
      keyVaultUrl: '${keyVault.outputs.uri}secrets/cluster-secret'
      identity: identity.outputs.id
    }
  ],
  map(keyEncryptionSecretNames, secretName => {
    name: secretName
    keyVaultUrl: '${keyVault.outputs.uri}secrets/${secretName}'
    identity: identity.outputs.id
  })
)

var gatewaySecrets keyVaultSecretRef[] = concat(clusterSecrets, [
  {
    name: 'operator-key'
    keyVaultUrl: '${keyVault.outputs.uri}secrets/operator-key'
    identity: identity.outputs.id
  }
])

// Where the data lives: Azure Storage through the managed identity (DefaultAzureCredential, AZURE_CLIENT_ID).
var storageEnv envVar[] = [
  {
    name: 'Vivim__Storage'
    value: 'Azure'
  }
  {
    name: 'ConnectionStrings__Vivim'
    value: storage.outputs.tableServiceUri
  }
  {
    name: 'Vivim__Storage__TablePrefix'
    value: tablePrefix
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identity.outputs.clientId
  }
  {
    name: 'Vivim__ServiceId'
    value: serviceId
  }
  {
    name: 'Vivim__ClusterId'
    value: clusterId
  }
]

// What every silo and gateway of the cluster shares (infra/kubernetes/config.yaml and the secrets they read).
var clusterEnv envVar[] = concat(
  storageEnv,
  [
    {
      name: 'Vivim__SiloPort'
      value: string(siloPort)
    }
    {
      name: 'Vivim__GatewayPort'
      value: string(orleansGatewayPort)
    }
    {
      name: 'Vivim__KeyEncryption__ActiveKeyId'
      value: activeKeyEncryptionKeyId
    }
    {
      name: 'Vivim__ClusterSecret'
      secretRef: 'cluster-secret'
    }
  ],
  map(range(0, length(keyEncryptionKeyIds)), i => {
    name: 'Vivim__KeyEncryption__Keys__${keyEncryptionKeyIds[i]}'
    secretRef: keyEncryptionSecretNames[i]
  })
)

var gatewayOnlyEnv envVar[] = concat(
  [
    {
      name: 'Vivim__OperatorKey'
      secretRef: 'operator-key'
    }
  ],
  map(range(0, length(p2pBootstrap)), i => {
    name: 'Vivim__P2p__Bootstrap__${i}'
    value: p2pBootstrap[i]
  })
)

module migrateJob 'modules/migrate-job.bicep' = if (deployApps) {
  name: 'migrate-job'
  dependsOn: [
    registryAccess
  ]
  params: {
    location: location
    name: '${namePrefix}-migrate'
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: workloadProfileName
    image: siloImage
    identityId: identity.outputs.id
    registries: registries
    env: storageEnv
    tags: tags
  }
}

module silos 'modules/silo.bicep' = if (deployApps && siloReplicas > 0) {
  name: 'silo'
  dependsOn: [
    registryAccess
  ]
  params: {
    location: location
    name: '${namePrefix}-silo'
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: workloadProfileName
    image: siloImage
    identityId: identity.outputs.id
    registries: registries
    secrets: clusterSecrets
    env: clusterEnv
    replicas: siloReplicas
    cpu: siloCpu
    memory: siloMemory
    siloPort: siloPort
    gatewayPort: orleansGatewayPort
    tags: tags
  }
}

module gateways 'modules/gateway.bicep' = [
  for i in range(0, gatewayCount): if (deployApps) {
    name: 'gateway-${i}'
    dependsOn: [
      registryAccess
    ]
    params: {
      location: location
      name: '${namePrefix}-gateway-${i}'
      environmentId: containerAppsEnvironment.outputs.id
      environmentDefaultDomain: containerAppsEnvironment.outputs.defaultDomain
      environmentStaticIp: containerAppsEnvironment.outputs.staticIp
      workloadProfileName: workloadProfileName
      image: gatewayImage
      identityId: identity.outputs.id
      registries: registries
      secrets: gatewaySecrets
      sharedEnv: clusterEnv
      gatewayEnv: gatewayOnlyEnv
      siloName: 'gateway-${i}'
      p2pExposedPort: p2pBasePort + i
      cpu: gatewayCpu
      memory: gatewayMemory
      httpPort: httpPort
      p2pPort: p2pPort
      tags: tags
    }
  }
]

output storageAccountName string = storage.outputs.name
output keyVaultName string = keyVault.outputs.name
output identityClientId string = identity.outputs.clientId
output environmentStaticIp string = containerAppsEnvironment.outputs.staticIp
output migrateJobName string = '${namePrefix}-migrate'
output gatewayUrls string[] = [for i in range(0, gatewayCount): 'https://${namePrefix}-gateway-${i}.${containerAppsEnvironment.outputs.defaultDomain}']
output gatewayP2pAddresses string[] = [for i in range(0, gatewayCount): '/ip4/${containerAppsEnvironment.outputs.staticIp}/tcp/${p2pBasePort + i}']
