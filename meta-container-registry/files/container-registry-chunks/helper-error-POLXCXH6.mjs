import{HelperError}from"./chunk-HNZPDJDR.mjs";import"./chunk-JGLR2OLI.mjs";export{HelperError};
