// One Vivim.Gateway: the public HTTP/WebSocket API and a libp2p peer, plus grains like any silo. Each gateway is its
// own container app with one replica, because each is its own libp2p peer: a peer must announce an address that
// reaches it alone (docs/operations.md, "libp2p"), and an app's TCP ingress spreads connections over its replicas.
// Its fixed silo name keys its libp2p identity in storage, so its peer id survives restarts and new revisions.

import { envVar, keyVaultSecretRef, registryCredential, resourceTags } from '../types.bicep'

@description('Azure region.')
param location string

@description('App name.')
param name string

param environmentId string

@description('The environment\'s default domain: the app\'s public URL is https://<name>.<domain>.')
param environmentDefaultDomain string

@description('The environment\'s public inbound address, announced as this peer\'s libp2p address.')
param environmentStaticIp string

@description('Workload profile the replica runs on.')
param workloadProfileName string

@description('Image of Vivim.Gateway (infra/container/Dockerfile with PROJECT=Vivim.Gateway).')
param image string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Registries to pull from with that identity (empty for a public image).')
param registries registryCredential[]

@description('Key Vault references ({name, keyVaultUrl, identity}).')
param secrets keyVaultSecretRef[]

@description('Environment variables shared with the silos ({name, value} or {name, secretRef}).')
param sharedEnv envVar[]

@description('Environment variables of gateways only (the operator key, bootstrap peers).')
param gatewayEnv envVar[]

@description('This gateway\'s silo name: keys its libp2p identity.')
param siloName string

@description('The public TCP port of this gateway\'s libp2p peer, unique in the environment.')
param p2pExposedPort int

@description('vCPUs of the replica, e.g. \'1.0\'.')
param cpu string

@description('Memory of the replica, e.g. \'2Gi\'.')
param memory string

param httpPort int
param p2pPort int

param tags resourceTags

var publicUrl = 'https://${name}.${environmentDefaultDomain}'

resource gateway 'Microsoft.App/containerApps@2025-07-01' = {
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
      ingress: {
        // HTTPS (TLS ends at the ingress) with WebSockets, forwarded to Kestrel on the HTTP port.
        external: true
        targetPort: httpPort
        transport: 'auto'
        allowInsecure: false
        additionalPortMappings: [
          {
            // libp2p brings its own encryption (Noise): raw TCP, straight to the peer.
            external: true
            targetPort: p2pPort
            exposedPort: p2pExposedPort
          }
        ]
      }
    }
    template: {
      terminationGracePeriodSeconds: 60
      containers: [
        {
          name: 'gateway'
          image: image
          env: concat(sharedEnv, gatewayEnv, [
            {
              name: 'Vivim__SiloName'
              value: siloName
            }
            {
              name: 'Vivim__P2p__Listen__0'
              value: '/ip4/0.0.0.0/tcp/${p2pPort}'
            }
            {
              name: 'Vivim__P2p__Announce__0'
              value: '/ip4/${environmentStaticIp}/tcp/${p2pExposedPort}'
            }
            {
              name: 'Vivim__Gateway__PublicUrl'
              value: publicUrl
            }
          ])
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/health/startup'
                port: httpPort
              }
              initialDelaySeconds: 5
              periodSeconds: 15
              failureThreshold: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/health/ready'
                port: httpPort
              }
              periodSeconds: 5
              failureThreshold: 3
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/health/live'
                port: httpPort
              }
              periodSeconds: 10
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: 1
        maxReplicas: 1
      }
    }
  }
}

output name string = gateway.name
output url string = publicUrl
output p2pAddress string = '/ip4/${environmentStaticIp}/tcp/${p2pExposedPort}'
