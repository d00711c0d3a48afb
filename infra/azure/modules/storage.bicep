// The Storage account that holds everything Vivim keeps (Vivim:Storage=Azure): Orleans membership, reminders and grain
// state, the update log and the small stores, in tables and blob containers named with Vivim:Storage:TablePrefix.
// Entra ID only: no account keys, no public blobs, TLS 1.2.

import { resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Account name: 3-24 lowercase letters and digits, unique in Azure.')
@minLength(3)
@maxLength(24)
param name string

@description('Redundancy: Standard_LRS for a small deployment, Standard_ZRS or Standard_GZRS where a zone or region may fail.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string

@description('Name of the user-assigned identity the apps run as (in this resource group).')
param appIdentityName string

@description('Days a deleted blob (grain state written to Blob storage) can still be restored; 0 turns soft delete off.')
@minValue(0)
@maxValue(365)
param blobSoftDeleteDays int

param tags resourceTags

// Built-in role definitions (the same ids in every subscription).
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource account 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // The service authenticates with its managed identity (DefaultAzureCredential); a key would be one more secret.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: account
  name: 'default'
  properties: {
    // Off by default: a soft-deleted blob still holds an erased tenant's state until its retention ends.
    deleteRetentionPolicy: blobSoftDeleteDays > 0 ? { enabled: true, days: max(blobSoftDeleteDays, 1) } : { enabled: false }
    containerDeleteRetentionPolicy: blobSoftDeleteDays > 0 ? { enabled: true, days: max(blobSoftDeleteDays, 1) } : { enabled: false }
    isVersioningEnabled: false
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: account
  name: 'default'
}

resource tableDataAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, storageTableDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageTableDataContributor)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource blobDataAccess 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appIdentity.id, storageBlobDataContributor)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output name string = account.name
// The service URI the apps authenticate against with their identity (the blob endpoint is derived from it).
output tableServiceUri string = 'https://${account.name}.table.${environment().suffixes.storage}'
output blobServiceUri string = 'https://${account.name}.blob.${environment().suffixes.storage}'
