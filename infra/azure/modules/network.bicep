// The virtual network of the Container Apps environment. External TCP ingress (the gateways' libp2p ports) needs an
// environment in a custom VNet, and the replicas reach each other's Orleans ports (silo 11111, gateway 30000) directly
// on their addresses in this subnet, which nothing outside the VNet can reach.

import { resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('VNet name.')
param name string

@description('Address space of the VNet.')
param addressPrefix string

@description('The environment\'s subnet, delegated to Microsoft.App/environments (a workload-profiles environment needs at least a /27; each replica takes an address).')
param environmentSubnetPrefix string

param tags resourceTags

resource vnet 'Microsoft.Network/virtualNetworks@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'container-apps'
        properties: {
          addressPrefix: environmentSubnetPrefix
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

output environmentSubnetId string = vnet.properties.subnets[0].id
