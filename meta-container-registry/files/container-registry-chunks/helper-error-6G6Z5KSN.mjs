import{HelperError}from"./chunk-KQ23NUYM.mjs";import"./chunk-JGLR2OLI.mjs";export{HelperError};
