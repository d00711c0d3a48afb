// The user-assigned identity every Vivim app and the migrate job run as: it reads the Key Vault secrets, pulls the
// images and reaches Azure Storage through DefaultAzureCredential (AZURE_CLIENT_ID selects it).

import { resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Identity name.')
param name string

param tags resourceTags

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output name string = identity.name
output id string = identity.id
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
