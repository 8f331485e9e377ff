// Tracker on Azure: a Flex Consumption function app (custom handler) with identity-only storage,
// provisioned by `azd up`. Subscription scope, as in Microsoft's Functions quickstart, so azd creates
// the resource group rg-<environment> itself. Local modules only: registry modules (br/public:...)
// cannot be restored offline here.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

// Regions offering Flex Consumption, as Microsoft's Flex azd template lists them (Azure-Samples/remote-mcp-functions-dotnet,
// infra/main.bicep, 2026; a superset of functions-quickstart-dotnet-azd's list) less the early-access eastus2euap.
// The live list: `az functionapp list-flexconsumption-locations`; add a region here when Microsoft adds one.
@minLength(1)
@description('Region for every resource; one that offers Flex Consumption. To check the custom runtime there: `az functionapp list-flexconsumption-runtimes -l <region> --runtime custom`.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional principal id of the deploying user or pipeline (azd fills it in: AZURE_PRINCIPAL_ID); gets blob/queue/table data roles on the storage account. Table data is what azure.yaml\'s postprovision hook needs to write the first admin token.')
param principalId string = ''

@description('Principal type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Always-ready HTTP instances (billed while idle). 0 keeps the "costs nothing when idle" promise.')
@minValue(0)
param alwaysReadyInstanceCount int = 0

@description('Upper bound on scale-out (Flex allows 40-1000).')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional Microsoft Entra tenant (directory) id whose tokens Tracker accepts (azd: TRACKER_ENTRA_TENANT_ID). Empty keeps Entra sign-in off; Tracker tokens work either way.')
param entraTenantId string = ''

@description('Audiences Tracker accepts in Entra tokens, comma-separated: the app registration\'s application id URI and/or client id (azd: TRACKER_ENTRA_AUDIENCE). Required with entraTenantId.')
param entraAudience string = ''

@description('Optional client id of the web UI\'s single-page-application registration, for Entra sign-in in the browser (azd: TRACKER_UI_CLIENT_ID). Needs entraTenantId.')
param entraUiClientId string = ''

// Archive lifecycle (issue 10 §3-4), bound as Tracker:Lifecycle:*; the defaults are LifecycleOptions' (a test keeps them equal).
@description('Days a deleted run or experiment can still be restored before it is purged for good (0: at the next lifecycle pass).')
@minValue(0)
@maxValue(3650)
param deletedRetentionDays int = 30

@description('Days a model version stays Archived before its artifacts move to the Cool tier.')
@minValue(0)
@maxValue(3650)
param archivedCoolAfterDays int = 30

@description('NCRONTAB schedule (six fields, UTC) of the cleanup timer.')
param cleanupSchedule string = '0 0 3 * * *'

@description('The most blobs one lifecycle invocation deletes or re-tiers; the rest continues in a follow-up message.')
@minValue(1)
@maxValue(100000)
param maxBlobsPerMessage int = 5000

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

var functionAppName = 'func-tracker-${resourceToken}'
var deploymentContainerName = 'deployments'
var artifactsContainerName = 'artifacts'
var searchSnapshotsContainerName = 'search-snapshots'
// Every queue Tracker's functions read (function.json queueName), with the poison queue the host moves a message to
// after maxDequeueCount failures; a test checks this list against the code and the function folders.
var queueNames = [
  'model-promotions'
  'model-promotions-poison'
  'lifecycle'
  'lifecycle-poison'
  'webhook-deliveries'
  'webhook-deliveries-poison'
]

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity './app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-tracker-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage './app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    artifactsContainerName: artifactsContainerName
    searchSnapshotsContainerName: searchSnapshotsContainerName
    queueNames: queueNames
    archivedCoolAfterDays: archivedCoolAfterDays
  }
}

module monitoring './app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module rbac './app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module functionApp './app/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    planName: 'plan-${resourceToken}'
    appName: functionAppName
    location: location
    tags: tags
    identityName: identity.outputs.name
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    artifactsContainerName: artifactsContainerName
    searchSnapshotsContainerName: searchSnapshotsContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyInstanceCount: alwaysReadyInstanceCount
    entraTenantId: entraTenantId
    entraAudiences: filter(map(split(entraAudience, ','), audience => trim(audience)), audience => !empty(audience))
    entraUiClientId: entraUiClientId
    deletedRetentionDays: deletedRetentionDays
    archivedCoolAfterDays: archivedCoolAfterDays
    cleanupSchedule: cleanupSchedule
    maxBlobsPerMessage: maxBlobsPerMessage
  }
  // Roles first, so the host's first start (and azd's first deploy to the identity-authenticated
  // package container) does not race the role assignments.
  dependsOn: [
    rbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_BLOB_ENDPOINT string = storage.outputs.blobEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
// The artifacts container the app is configured with, so the postprovision hook's admin command sees the same settings.
output AZURE_STORAGE_ARTIFACTS_CONTAINER string = artifactsContainerName
// What users put in MLFLOW_TRACKING_URI.
output SERVICE_API_URI string = functionApp.outputs.uri
output SERVICE_API_NAME string = functionApp.outputs.name
