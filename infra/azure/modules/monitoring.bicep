// Log Analytics: where the Container Apps environment sends the apps' console logs and system events.

import { resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Workspace name.')
param name string

@description('Days the workspace keeps logs.')
@minValue(30)
@maxValue(730)
param retentionInDays int

param tags resourceTags

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
  }
}

output name string = workspace.name
output customerId string = workspace.properties.customerId
