// Vivim.Silo: the scale-out workers (grains only, no public endpoint and no ingress). Replicas reach each other and
// the gateways on their own addresses (silo port 11111, Orleans gateway port 30000) inside the environment's VNet.
// A silo serves no HTTP, so its probes are TCP: the silo port opens as Orleans starts, the gateway port once the
// silo is active in the cluster.

import { envVar, keyVaultSecretRef, registryCredential, resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('App name.')
param name string

param environmentId string

@description('Workload profile the replicas run on.')
param workloadProfileName string

@description('Image of Vivim.Silo (infra/container/Dockerfile with PROJECT=Vivim.Silo).')
param image string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Registries to pull from with that identity (empty for a public image).')
param registries registryCredential[]

@description('Key Vault references ({name, keyVaultUrl, identity}).')
param secrets keyVaultSecretRef[]

@description('Environment variables ({name, value} or {name, secretRef}).')
param env envVar[]

@description('Silo replicas: a fixed count (Orleans rebalances on membership changes, so no autoscaling).')
@minValue(0)
param replicas int

@description('vCPUs per replica, e.g. \'1.0\'.')
param cpu string

@description('Memory per replica, e.g. \'2Gi\'.')
param memory string

param siloPort int
param gatewayPort int

param tags resourceTags

resource silo 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      secrets: secrets
      registries: registries
    }
    template: {
      terminationGracePeriodSeconds: 60
      containers: [
        {
          name: 'silo'
          image: image
          env: env
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          probes: [
            {
              type: 'Startup'
              tcpSocket: {
                port: siloPort
              }
              initialDelaySeconds: 5
              periodSeconds: 15
              failureThreshold: 10
            }
            {
              type: 'Readiness'
              tcpSocket: {
                port: gatewayPort
              }
              periodSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Liveness'
              tcpSocket: {
                port: siloPort
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: replicas
        maxReplicas: replicas
      }
    }
  }
}

output name string = silo.name
