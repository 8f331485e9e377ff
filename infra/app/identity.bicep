// User-assigned managed identity for the function app. User-assigned (not system-assigned) so its
// role assignments can exist before the site does, and the same identity serves deployment storage,
// host storage (AzureWebJobsStorage), Tracker's own Table/Blob/Queue clients and Application Insights.

@description('Name of the managed identity.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to the identity.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
