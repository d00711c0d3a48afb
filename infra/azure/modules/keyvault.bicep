// The Key Vault (RBAC mode) that holds the deployment's secrets: the key-encryption keys (one secret per key id), the
// operator key and the cluster secret. The template creates no secret values: an operator sets them with
// `az keyvault secret set` (docs/azure.md), so they never pass through a deployment's parameters or history.

import { resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Vault name: 3-24 letters, digits and dashes, unique in Azure.')
@minLength(3)
@maxLength(24)
param name string

@description('Name of the user-assigned identity the apps run as (in this resource group).')
param appIdentityName string

@description('Principal id (object id) of the person or pipeline that sets the secrets: Key Vault Secrets Officer. Empty: assign it yourself.')
param vaultOfficerPrincipalId string

@description('Principal type of vaultOfficerPrincipalId.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param vaultOfficerPrincipalType string

@description('Keep deleted vaults and secrets for their retention period without a way to purge them early.')
param enablePurgeProtection bool

param tags resourceTags

var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    // Purge protection cannot be turned off again: true is written, false is left out.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForTemplateDeployment: false
    enabledForDiskEncryption: false
    publicNetworkAccess: 'Enabled'
  }
}

resource appReadsSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appIdentity.id, keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUser)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource officerWritesVault 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(vaultOfficerPrincipalId)) {
  name: guid(vault.id, vaultOfficerPrincipalId, keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsOfficer)
    principalId: vaultOfficerPrincipalId
    principalType: vaultOfficerPrincipalType
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
output appRoleAssignmentId string = appReadsSecrets.id
