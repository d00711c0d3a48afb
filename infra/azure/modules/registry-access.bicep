// Lets the apps' identity pull the images from an Azure Container Registry in this resource group (AcrPull).

import {  } from '../types.bicep'

@description('Container Registry name.')
param registryName string

@description('Name of the user-assigned identity the apps run as (in this resource group).')
param appIdentityName string

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d'

resource appIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: appIdentityName
}

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, appIdentity.id, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: appIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output loginServer string = registry.properties.loginServer
