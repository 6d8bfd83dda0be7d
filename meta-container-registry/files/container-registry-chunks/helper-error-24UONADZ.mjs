import{HelperError}from"./chunk-L76LRFPP.mjs";import"./chunk-JGLR2OLI.mjs";export{HelperError};
