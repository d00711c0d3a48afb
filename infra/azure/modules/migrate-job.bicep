// `Vivim.Silo migrate` as a manual Container Apps job: on Azure Storage it creates the tables and blob containers
// (idempotent). Start it once per deploy: az containerapp job start --name <job> --resource-group <group>.

import { envVar, registryCredential, resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('Job name.')
param name string

param environmentId string

@description('Workload profile the job runs on.')
param workloadProfileName string

@description('Image of Vivim.Silo.')
param image string

@description('Resource id of the user-assigned identity the job runs as.')
param identityId string

@description('Registries to pull from with that identity (empty for a public image).')
param registries registryCredential[]

@description('Environment variables: the storage settings and the identity.')
param env envVar[]

param tags resourceTags

resource job 'Microsoft.App/jobs@2025-07-01' = {
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
      triggerType: 'Manual'
      replicaTimeout: 600
      replicaRetryLimit: 3
      manualTriggerConfig: {
        parallelism: 1
        replicaCompletionCount: 1
      }
      registries: registries
    }
    template: {
      containers: [
        {
          name: 'migrate'
          image: image
          command: [
            'dotnet'
            'Vivim.Silo.dll'
            'migrate'
          ]
          env: env
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
        }
      ]
    }
  }
}

output name string = job.name
