import{HelperError}from"./chunk-Q2DFT4CV.mjs";import"./chunk-JGLR2OLI.mjs";export{HelperError};
