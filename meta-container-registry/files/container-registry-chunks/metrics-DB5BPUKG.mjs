import{RegistryMetrics,sumMetrics,webhookMetrics}from"./chunk-NICFKGMN.mjs";import"./chunk-CJJV4PZB.mjs";import"./chunk-JGLR2OLI.mjs";export{RegistryMetrics,sumMetrics,webhookMetrics};
