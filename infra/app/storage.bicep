// Storage account for everything Tracker keeps: Flex deployment packages, host state (timers, keys,
// queue triggers), MLflow artifacts, search snapshots, tracking tables and the promotion queue. Identity-only access:
// shared keys are off, which also disables account and service SAS (Tracker signs user delegation SAS).

@description('Storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to the account.')
param tags object

@description('Blob container that holds the Flex Consumption deployment package.')
param deploymentContainerName string

@description('Blob container that holds MLflow run and model artifacts.')
param artifactsContainerName string

@description('Blob container that holds each experiment\'s search snapshot (Tracker:Storage:SearchSnapshotsContainer).')
param searchSnapshotsContainerName string

@description('Queues of the queue-triggered functions (model-promotions for PromoteModel) and their poison queues.')
param queueNames string[]

@description('Days after their last modification at which blobs tagged archived (tracker-archived = true) are moved to Cool.')
param archivedCoolAfterDays int

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    dnsEndpointType: 'Standard'
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }

    resource artifactsContainer 'containers' = {
      name: artifactsContainerName
      properties: {
        publicAccess: 'None'
      }
    }

    // A compact copy of each experiment's searchable runs, so a cold instance answers from one blob and the change
    // feed's tail (TrackingStore.RunCatalog); rewritten by the app, never read by anyone else.
    resource searchSnapshotsContainer 'containers' = {
      name: searchSnapshotsContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  // Proxied uploads bigger than one block are staged under <artifacts container>/uploads/ and deleted once copied into
  // place (ArtifactStore.StagingPrefix); this sweeps what an instance that stopped mid-upload left behind.
  resource lifecycle 'managementPolicies' = {
    name: 'default'
    properties: {
      policy: {
        rules: [
          {
            name: 'abandoned-artifact-uploads'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: [ 'blockBlob' ]
                prefixMatch: [ '${artifactsContainerName}/uploads/' ]
              }
              actions: {
                baseBlob: {
                  delete: {
                    daysAfterModificationGreaterThan: 1
                  }
                }
              }
            }
          }
          // Backstop for the tiering worker (VersionTiering): it sets the blob index tag before the tier, so a file whose
          // tier change failed is still moved to Cool here. A version promoted again has the tag removed first.
          {
            name: 'archived-versions-to-cool'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: [ 'blockBlob' ]
                prefixMatch: [ '${artifactsContainerName}/' ]
                blobIndexMatch: [
                  {
                    name: 'tracker-archived'
                    op: '=='
                    value: 'true'
                  }
                ]
              }
              actions: {
                baseBlob: {
                  tierToCool: {
                    daysAfterModificationGreaterThan: archivedCoolAfterDays
                  }
                }
              }
            }
          }
        ]
      }
    }
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource queues 'queues' = [for queueName in queueNames: {
      name: queueName
    }]
  }
}

output id string = storage.id
output name string = storage.name
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output queueEndpoint string = storage.properties.primaryEndpoints.queue
output tableEndpoint string = storage.properties.primaryEndpoints.table
