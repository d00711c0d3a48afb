// Shapes shared by main.bicep and its modules.

@export()
@description('Tags on every resource.')
type resourceTags = {
  *: string
}

@export()
@description('A container\'s environment variable: a plain value, or a Container Apps secret by name.')
type envVar = {
  name: string
  value: string?
  secretRef: string?
}

@export()
@description('A Container Apps secret read from Key Vault with a user-assigned identity.')
type keyVaultSecretRef = {
  name: string
  keyVaultUrl: string
  identity: string
}

@export()
@description('A registry the apps pull from with a user-assigned identity.')
type registryCredential = {
  server: string
  identity: string
}

@export()
@description('A dedicated workload profile of the environment.')
type dedicatedWorkloadProfile = {
  name: string
  @description('D4, D8, D16, D32, E4, E8 …')
  workloadProfileType: string
  minimumCount: int
  maximumCount: int
}
