import{tempPath}from"./chunk-5K2OQZ3S.mjs";import{HelperError}from"./chunk-Q2DFT4CV.mjs";import{once}from"node:events";import{constants,createWriteStream}from"node:fs";import{access,rename,unlink}from"node:fs/promises";import{finished}from"node:stream/promises";import{dirname,resolve}from"node:path";var TRACE_ARTIFACT_TYPE="application/vnd.container-registry.trace.v1+json",TRACE_MEDIA_TYPE="application/json";function processName(pid,name){return{name:"process_name",ph:"M",ts:0,pid,tid:0,args:{name}}}function threadName(pid,tid,name){return{name:"thread_name",ph:"M",ts:0,pid,tid,args:{name}}}function processSortIndex(pid,index){return{name:"process_sort_index",ph:"M",ts:0,pid,tid:0,args:{sort_index:index}}}function nowMicros(){return Math.round((performance.timeOrigin+performance.now())*1e3)}function traceBytes(doc){let lines=doc.traceEvents.map(e=>JSON.stringify(e));return Buffer.from(`{"traceEvents":[
${lines.join(`,
`)}
],
"displayTimeUnit":${JSON.stringify(doc.displayTimeUnit)},
"otherData":${JSON.stringify(doc.otherData)}}
`)}var WRITE_CHUNK=256*1024;async function writeTraceStream(out,events,otherData){let pending=`{"traceEvents":[
`,count=0,closed=!1,flush=async()=>{if(out.destroyed)closed=!0;else if(!out.write(pending))try{await once(out,"drain")}catch(err){if(err.code!=="EPIPE")throw err;closed=!0}pending=""};for(let e of events)if(pending+=`${count?`,
`:""}${JSON.stringify(e)}`,count++,pending.length>=WRITE_CHUNK&&await flush(),closed)return count;return pending+=`
],
"displayTimeUnit":"ms",
"otherData":${JSON.stringify(otherData())}}
`,await flush(),count}async function writeTraceFile(path,events,otherData){let tmp=tempPath(path),out=createWriteStream(tmp,{flags:"wx",mode:420});try{await once(out,"open");let count=await writeTraceStream(out,events,otherData);return out.end(),await finished(out),await rename(tmp,path),count}catch(err){throw out.destroy(),await unlink(tmp).catch(()=>{}),err}}async function writeTraceDocument(path,doc){try{await writeTraceFile(path,doc.traceEvents,()=>doc.otherData)}catch(err){throw new HelperError("trace",`cannot write the trace to ${path}: ${err.message}`,{cause:err})}}async function checkTraceTarget(path){try{await access(dirname(resolve(path)),constants.W_OK)}catch(err){throw new HelperError("trace",`cannot write the trace to ${path}: ${err.code==="ENOENT"?"no such folder":err.message}`,{cause:err})}}export{TRACE_ARTIFACT_TYPE,TRACE_MEDIA_TYPE,processName,threadName,processSortIndex,nowMicros,traceBytes,writeTraceStream,writeTraceFile,writeTraceDocument,checkTraceTarget};
