// The Container Apps environment: a workload-profiles environment in the VNet (external TCP ingress needs one), its
// console and system logs sent to Log Analytics.

import { dedicatedWorkloadProfile, resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Environment name.')
param name string

@description('Subnet delegated to Microsoft.App/environments.')
param subnetId string

@description('Log Analytics workspace that receives the apps\' logs.')
param logAnalyticsWorkspaceName string

@description('Dedicated workload profiles besides Consumption (name, workloadProfileType such as D4, minimumCount, maximumCount); empty: Consumption only.')
param dedicatedWorkloadProfiles dedicatedWorkloadProfile[]

@description('Spread replicas over availability zones (needs a region with zones).')
param zoneRedundant bool

param tags resourceTags

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    vnetConfiguration: {
      infrastructureSubnetId: subnetId
      // External: the gateways' HTTP and libp2p ports are public; apps without ingress (the silos) are not.
      internal: false
    }
    zoneRedundant: zoneRedundant
    workloadProfiles: concat(
      [
        {
          name: 'Consumption'
          workloadProfileType: 'Consumption'
        }
      ],
      dedicatedWorkloadProfiles
    )
  }
}

output id string = environment.id
output defaultDomain string = environment.properties.defaultDomain
// The public inbound address: every gateway's libp2p port is reached at it, each on its own exposed port.
output staticIp string = environment.properties.staticIp
