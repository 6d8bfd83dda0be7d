import{RegistryMetrics,sumMetrics,webhookMetrics}from"./chunk-API6JFRO.mjs";import"./chunk-WFE53I3S.mjs";import"./chunk-JGLR2OLI.mjs";export{RegistryMetrics,sumMetrics,webhookMetrics};
