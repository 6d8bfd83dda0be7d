import{RegistryEvents,manifestEvent,requestInfo}from"./chunk-4YOPZGE3.mjs";import"./chunk-JGLR2OLI.mjs";export{RegistryEvents,manifestEvent,requestInfo};
