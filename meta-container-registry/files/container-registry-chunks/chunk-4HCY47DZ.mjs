import{IN_TOTO_PAYLOAD_TYPE,SLSA_PROVENANCE,statementOf,summarizeSpdx,summaryFromAnnotations}from"./chunk-LGPGU6CK.mjs";import{parseMirror,parseMirrors}from"./chunk-EWZSDB5Z.mjs";import{DUMMY_HASH,ensureDefaultUser,isBcryptHash,parseHtpasswd}from"./chunk-4J5T2VKR.mjs";import{credentialSource,runCredentialHelper}from"./chunk-K7XHIOKB.mjs";import{SIGNATURE_ANNOTATION,SIMPLE_SIGNING_MEDIA_TYPE,signatureTag}from"./chunk-IKFNUXJF.mjs";import{parseDuration}from"./chunk-N7B3BD6K.mjs";import{onStorageChanged}from"./chunk-T3ZHJTLA.mjs";import{ImageStore,compareLexical,openDriver}from"./chunk-JZJKAPA7.mjs";import{pkiSettingsFromEnv}from"./chunk-MPUXNILR.mjs";import{instanceOnPort,instancesDir,portUsedByUs,removeInstanceRecord,removePidFileIfOurs,writeInstanceRecord,writePidFile}from"./chunk-KPLZTEJC.mjs";import{ConfigError,Notifier,loadNotifications,readServerConfig}from"./chunk-CWRGVAUV.mjs";import{parse}from"./chunk-CC626JC3.mjs";import{announceMdns,mdnsHostLabel,withMdnsSan}from"./chunk-BPRTPKBF.mjs";import{API_VERSION_HEADER,asRegistryError,deleteBlob,getBlob,isNoSpace,nextLink,paginate,readPagination,sendEmpty,sendError,sendJson}from"./chunk-V47Q4PVU.mjs";import{MAX_MANIFEST_BYTES,MEDIA_TYPES}from"./chunk-TLE7UP3K.mjs";import{BodyTooLarge,ByteBudget,mapLimited,readBounded,takeInOrder}from"./chunk-POLO7PCQ.mjs";import{formatSan,listenNames}from"./chunk-I4DINPEM.mjs";import{StateDir,formatObjectStoreUrl}from"./chunk-SROZAVTQ.mjs";import{makeDirs}from"./chunk-EZCM4IWQ.mjs";import{rawSetting,readBoolean}from"./chunk-WKB5JW2U.mjs";import{AddressError}from"./chunk-NPKWJEJF.mjs";import{assertRepositoryName,isValidRepositoryName,isValidTag}from"./chunk-USSO4MA4.mjs";import{RegistryError,formatDigest,parseDigest,tryParseDigest}from"./chunk-PCAHDHVL.mjs";import{HelperError}from"./chunk-Q2DFT4CV.mjs";import{RegistryEvents,manifestEvent,requestInfo}from"./chunk-4YOPZGE3.mjs";import{RegistryMetrics}from"./chunk-BIMFAEDC.mjs";import{createServer as createHttpServer}from"node:http";import{createServer as createHttpsServer}from"node:https";import{readFileSync as readFileSync2,statSync}from"node:fs";import{randomBytes}from"node:crypto";var ALLOW_ALL={async check(){return{allowed:!0,user:void 0}}};function uploadHeaders(name,state){return{Location:`/v2/${name}/blobs/uploads/${state.id}`,Range:`0-${Math.max(0,state.size-1)}`,"Docker-Upload-UUID":state.id}}function committedHeaders(name,digest){return{Location:`/v2/${name}/blobs/${digest}`,"Docker-Content-Digest":digest}}function parseContentRange(header){if(header===void 0)return;let m=/^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());if(!m)throw new RegistryError("RANGE_INVALID",`malformed Content-Range ${JSON.stringify(header.slice(0,60))}`,{status:416});let range={start:Number(m[1]),end:Number(m[2])};if(range.end<range.start)throw new RegistryError("RANGE_INVALID","Content-Range ends before it starts",{status:416});return range}function hasBody(ctx){let len=ctx.req.headers["content-length"];return len!==void 0?Number(len)>0:ctx.req.headers["transfer-encoding"]!==void 0}async function startUpload(ctx,name){let{store,url,res,req}=ctx,mount=url.searchParams.get("mount"),from=url.searchParams.get("from");if(mount!==null&&from!==null){let d2=parseDigest(mount);if(isValidRepositoryName(from)&&await ctx.mayPull(from)&&await store.blobs.claim(from,d2)!==void 0){req.resume(),await store.blobs.link(name,d2,{claimed:!0}),sendEmpty(res,201,committedHeaders(name,formatDigest(d2)));return}}let digestParam=url.searchParams.get("digest"),d=digestParam===null?void 0:parseDigest(digestParam),state=await store.uploads.create(name);try{if(d){let{size}=await store.uploads.commit(name,state.id,d,req,void 0,{fresh:!0});sendEmpty(res,201,committedHeaders(name,formatDigest(d))),ctx.events.publish("blobUpload",{repository:name,bytes:size});return}if(hasBody(ctx)){await store.uploads.append(name,state.id,req),sendEmpty(res,202,uploadHeaders(name,await store.uploads.status(name,state.id)));return}}catch(err){throw await store.uploads.cancel(name,state.id).catch(()=>{}),err}req.resume(),sendEmpty(res,202,uploadHeaders(name,state))}async function patchUpload(ctx,name,id){let{store,req,res}=ctx,range=parseContentRange(req.headers["content-range"]);try{let state=await store.uploads.append(name,id,req,range);sendEmpty(res,202,uploadHeaders(name,state))}catch(err){if(err instanceof RegistryError&&err.code==="RANGE_INVALID"){let state=await store.uploads.status(name,id);throw new RegistryError("RANGE_INVALID",err.message,{status:416,headers:uploadHeaders(name,state)})}throw err}}async function finishUpload(ctx,name,id){let{store,req,res,url}=ctx,digestParam=url.searchParams.get("digest");if(digestParam===null)throw new RegistryError("DIGEST_INVALID","digest query parameter is required");let d=parseDigest(digestParam),range=parseContentRange(req.headers["content-range"]),committed;hasBody(ctx)?committed=await store.uploads.commit(name,id,d,req,range):(req.resume(),committed=await store.uploads.commit(name,id,d)),sendEmpty(res,201,committedHeaders(name,formatDigest(d))),ctx.events.publish("blobUpload",{repository:name,bytes:committed.size})}async function uploadStatus(ctx,name,id){let state=await ctx.store.uploads.status(name,id);sendEmpty(ctx.res,204,uploadHeaders(name,state))}async function cancelUpload(ctx,name,id){await ctx.store.uploads.cancel(name,id),sendEmpty(ctx.res,204)}async function getManifest(ctx,name,reference){let{req,res,store}=ctx,m=await store.manifests.read(name,reference),digest=formatDigest(m.digest);if(res.writeHead(200,{"Content-Type":m.mediaType,"Content-Length":String(m.body.length),"Docker-Content-Digest":digest,ETag:`"${digest}"`}),res.end(req.method==="HEAD"?void 0:m.body),req.method==="GET"){let target={repository:name,digest,mediaType:m.mediaType,size:m.body.length,tag:reference.includes(":")?void 0:reference};ctx.events.publish("manifest",manifestEvent("pull",target,ctx.request,ctx.user))}}var manifestBodies=new ByteBudget(16*MAX_MANIFEST_BYTES);function tooLarge(ctx){return ctx.req.resume(),new RegistryError("SIZE_INVALID",`manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,{status:413})}async function readBody(ctx){let lengthHeader=ctx.req.headers["content-length"],declared=lengthHeader===void 0?void 0:Number(lengthHeader);if(declared!==void 0&&declared>MAX_MANIFEST_BYTES)throw tooLarge(ctx);let release=await manifestBodies.take(declared??MAX_MANIFEST_BYTES);try{return{body:await readBounded(ctx.req,MAX_MANIFEST_BYTES),release}}catch(err){throw release(),err instanceof BodyTooLarge?tooLarge(ctx):err}}async function putManifest(ctx,name,reference){let extraTags=ctx.url.searchParams.getAll("tag");for(let tag of extraTags)if(!isValidTag(tag))throw new RegistryError("TAG_INVALID",`invalid tag ${JSON.stringify(tag.slice(0,140))}`);if(extraTags.length>0&&!reference.includes(":"))throw new RegistryError("TAG_INVALID","the tag parameter needs a PUT by digest");let{body,release}=await readBody(ctx),result;try{result=await ctx.store.manifests.put(name,reference,body,ctx.req.headers["content-type"]);for(let tag of extraTags)await ctx.store.manifests.tag(name,tag,result.digest)}finally{release()}let digest=formatDigest(result.digest),headers={Location:`/v2/${name}/manifests/${digest}`,"Docker-Content-Digest":digest};result.subject&&(headers["OCI-Subject"]=result.subject),extraTags.length>0&&(headers["OCI-Tag"]=extraTags.join(", ")),sendEmpty(ctx.res,201,headers);let mediaType=ctx.store.manifests.parse(result.digest,body,ctx.req.headers["content-type"]).mediaType,tags2=reference.includes(":")?extraTags.length>0?extraTags:[void 0]:[reference];for(let tag of tags2)ctx.events.publish("manifest",manifestEvent("push",{repository:name,digest,mediaType,size:body.length,tag},ctx.request,ctx.user))}async function deleteManifest(ctx,name,reference){let{store,res}=ctx,before=await store.manifests.read(name,reference).catch(()=>{});if(reference.includes(":")){let d=parseDigest(reference);if(!await store.manifests.deleteManifest(name,d))throw new RegistryError("MANIFEST_UNKNOWN",`manifest ${reference} unknown in ${name}`)}else if(!await store.manifests.deleteTag(name,reference))throw new RegistryError("MANIFEST_UNKNOWN",`tag ${reference} unknown in ${name}`);if(sendEmpty(res,202),before){let target={repository:name,digest:formatDigest(before.digest),mediaType:before.mediaType,size:before.body.length,tag:reference.includes(":")?void 0:reference};ctx.events.publish("manifest",manifestEvent("delete",target,ctx.request,ctx.user))}}async function tagFolderNames(store,repo){return(await store.driver.list(store.paths.tagsRoot(repo))).filter(n=>isValidTag(n)).sort(compareLexical)}function namesAfter(sorted,last){if(last===void 0)return sorted;let lo=0,hi=sorted.length;for(;lo<hi;){let mid=lo+hi>>>1;compareLexical(sorted[mid],last)<=0?lo=mid+1:hi=mid}return sorted.slice(lo)}async function pageTags(store,repo,page){if(page.n===0)return{tags:[],more:!1};let candidates=namesAfter(await tagFolderNames(store,repo),page.last),limit=page.n===void 0?void 0:page.n+1,live=await takeInOrder(candidates,limit,async tag=>await store.manifests.resolve(repo,tag)?tag:void 0);return page.n!==void 0&&live.length>page.n?{tags:live.slice(0,page.n),more:!0}:{tags:live,more:!1}}async function listTags(ctx,name){let{store,url,req,res}=ctx,page=readPagination(url.searchParams);if(!await store.manifests.exists(name))throw new RegistryError("NAME_UNKNOWN",`repository ${name} not known to registry`);let{tags:items,more}=await pageTags(store,name,page),headers={};more&&(headers.Link=nextLink(`/v2/${name}/tags/list`,page.n,items[items.length-1])),sendJson(req,res,200,{name,tags:items},headers)}async function listCatalog(ctx){let{store,url,req,res}=ctx,page=readPagination(url.searchParams),all=await store.catalog(),visible=[];for(let name of all)await ctx.mayPull(name)&&visible.push(name);let{items,more}=paginate(visible,page),headers={};more&&(headers.Link=nextLink("/v2/_catalog",page.n,items[items.length-1])),sendJson(req,res,200,{repositories:items},headers)}async function listReferrers(ctx,name,digestText){let{store,url,req,res}=ctx,d=parseDigest(digestText),artifactType=url.searchParams.get("artifactType")??void 0,lastText=url.searchParams.get("last"),after=lastText===null?void 0:formatDigest(parseDigest(lastText)),page=await store.referrersPage(name,d,{artifactType,after}),headers={"Content-Type":MEDIA_TYPES.ociIndex};if(artifactType!==void 0&&(headers["OCI-Filters-Applied"]="artifactType"),page.next!==void 0){let q=new URLSearchParams({...artifactType!==void 0?{artifactType}:{},last:page.next});headers.Link=`</v2/${name}/referrers/${formatDigest(d)}?${q}>; rel="next"`}sendJson(req,res,200,{schemaVersion:2,mediaType:MEDIA_TYPES.ociIndex,manifests:page.manifests},headers)}var base={action:"ping",async serve(ctx){ctx.req.resume(),sendJson(ctx.req,ctx.res,200,{})}};function readable(e){return{GET:e,HEAD:e}}var ROUTES=[{kind:"base",pattern:/^\/v2\/?$/,params:()=>({}),methods:readable(base),otherMethods:"ping"},{kind:"catalog",pattern:/^\/v2\/_catalog$/,params:()=>({}),methods:readable({action:"catalog",serve:ctx=>listCatalog(ctx)}),otherMethods:"catalog"},{kind:"tags",pattern:/^\/v2\/(.+)\/tags\/list$/,params:m=>({name:m[1]}),methods:readable({action:"pull",serve:(ctx,p)=>listTags(ctx,p.name)}),otherMethods:"pull"},{kind:"manifest",pattern:/^\/v2\/(.+)\/manifests\/([^/]+)$/,params:m=>({name:m[1],reference:m[2]}),methods:{...readable({action:"pull",serve:(ctx,p)=>getManifest(ctx,p.name,p.reference)}),PUT:{action:"push",serve:(ctx,p)=>putManifest(ctx,p.name,p.reference)},DELETE:{action:"delete",serve:(ctx,p)=>deleteManifest(ctx,p.name,p.reference)}},otherMethods:"push"},{kind:"uploads",pattern:/^\/v2\/(.+)\/blobs\/uploads\/?$/,params:m=>({name:m[1]}),methods:{POST:{action:"push",serve:(ctx,p)=>startUpload(ctx,p.name)}},otherMethods:"push"},{kind:"upload",pattern:/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,params:m=>({name:m[1],id:m[2]}),methods:{PATCH:{action:"push",serve:(ctx,p)=>patchUpload(ctx,p.name,p.id)},PUT:{action:"push",serve:(ctx,p)=>finishUpload(ctx,p.name,p.id)},...readable({action:"push",serve:(ctx,p)=>uploadStatus(ctx,p.name,p.id)}),DELETE:{action:"push",serve:(ctx,p)=>cancelUpload(ctx,p.name,p.id)}},otherMethods:"push"},{kind:"blob",pattern:/^\/v2\/(.+)\/blobs\/([^/]+)$/,params:m=>({name:m[1],digest:m[2]}),methods:{...readable({action:"pull",serve:(ctx,p)=>getBlob(ctx,p.name,p.digest)}),DELETE:{action:"delete",serve:(ctx,p)=>deleteBlob(ctx,p.name,p.digest)}},otherMethods:"push"},{kind:"referrers",pattern:/^\/v2\/(.+)\/referrers\/([^/]+)$/,params:m=>({name:m[1],digest:m[2]}),methods:readable({action:"pull",serve:(ctx,p)=>listReferrers(ctx,p.name,p.digest)}),otherMethods:"pull"}];function matchRoute(path){for(let def of ROUTES){let m=def.pattern.exec(path);if(m)return{def,params:def.params(m)}}}function endpointFor(def,method){return Object.hasOwn(def.methods,method)?def.methods[method]:{action:def.otherMethods,serve:async ctx=>{throw ctx.req.resume(),new RegistryError("METHOD_UNKNOWN",`method ${method} is not supported for this route`)}}}function serverLog(line){try{process.stderr.write(`container-registry: ${line}
`)}catch{}}function writeLine(line){try{process.stdout.write(`${line}
`)}catch{}}function failureOf(decision,authorization){return decision.status===429?{status:429,reason:"throttled"}:decision.status===403?{status:403,reason:"denied"}:{status:401,reason:authorization?"bad":"missing"}}function denied(decision){return decision.status===401?new RegistryError("UNAUTHORIZED",decision.message??"authentication required",{headers:decision.challenge?{"WWW-Authenticate":decision.challenge}:{}}):decision.status===429?new RegistryError("TOOMANYREQUESTS",decision.message??"too many failed attempts; slow down",{headers:{"Retry-After":String(decision.retryAfter??1)}}):new RegistryError("DENIED",decision.message??"requested access to the resource is denied")}async function dispatch(d,req,res,url,meta){let method=req.method??"GET",outcome={user:void 0,route:"unknown"},{remoteAddress,requestId}=meta,authorization=req.headers.authorization,authorize=async(action,repository)=>{let decision=await d.access.check({action,repository,authorization,remoteAddress});if(outcome.user=decision.user,!decision.allowed)throw d.events?.publish("authFailure",failureOf(decision,authorization)),denied(decision);return decision.user};try{refuseCrossSite(req,method),d.readOnly&&refuseWrite(req,method);let extraKind=d.extra?.routeOf(url.pathname);if(extraKind!==void 0&&d.extra){outcome.route=extraKind;let may=async(action,repository)=>(await d.access.check({action,repository,authorization,remoteAddress})).allowed;return await d.extra.serve(extraKind,req,res,url,{authorize,may,remoteAddress}),outcome}let route=matchRoute(url.pathname);if(!route)throw outcome.route="unknown",new RegistryError("NAME_UNKNOWN","no such endpoint",{status:404});outcome.route=route.def.kind;let{name}=route.params;name!==void 0&&assertRepositoryName(name),name!==void 0&&d.cache&&(route.params.name=name=await d.cache.repositoryFor(name,{params:url.searchParams,method,kind:route.def.kind,userAgent:req.headers["user-agent"]}));let endpoint=endpointFor(route.def,method);endpoint.action&&await authorize(endpoint.action,name);let info,ctx={req,res,url,store:d.store,mayPull:async repository=>(await d.access.check({action:"pull",repository,authorization,remoteAddress})).allowed,events:d.events??SILENT,get request(){return info??=requestInfo(req)},user:outcome.user};await d.cache?.intercept(route.def.kind,ctx,route.params)||await endpoint.serve(ctx,route.params)}catch(err){let answer=asRegistryError(err,requestId);if(!(err instanceof RegistryError)&&(isNoSpace(err)||!isClientGone(err,req))){let log=d.log??serverLog,what=answer.status===507?answer.message:err?.stack??String(err);log(`${method} ${url.pathname} [${requestId}]: ${what}`)}sendError(req,res,answer)}return outcome}var SAFE_METHODS=new Set(["GET","HEAD","OPTIONS"]),FORM_TYPES=/^(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\b/i;function refuseCrossSite(req,method){if(SAFE_METHODS.has(method))return;let origin=req.headers.origin,site=req.headers["sec-fetch-site"],foreign=site!==void 0&&site!=="same-origin"&&site!=="none";if(origin!==void 0){let host;try{host=new URL(origin).host}catch{host=void 0}foreign||=host===void 0||host!==req.headers.host}if(foreign||(origin!==void 0||site!==void 0)&&FORM_TYPES.test(req.headers["content-type"]??""))throw req.resume(),new RegistryError("DENIED","cross-site request refused: a web page may not write to this registry")}function refuseWrite(req,method){if(!SAFE_METHODS.has(method))throw req.resume(),new RegistryError("UNSUPPORTED",`the registry is read-only (maintenance: serve --read-only); pulls work, ${method} requests (pushes, deletes, uploads) are refused`,{status:405})}var SILENT=new RegistryEvents;function isClientGone(err,req){let code=err?.code;return req.destroyed||code==="ECONNRESET"||code==="ERR_STREAM_PREMATURE_CLOSE"||code==="EPIPE"}async function walkStats(store){let blobs=0,bytes=0;for await(let f of store.driver.walk(store.paths.blobsRoot(),name=>name==="data"))bytes+=f.size,blobs++;let repos=await store.repositories(),tags2=0,uploads=0;for(let repo of repos)tags2+=(await store.manifests.tags(repo)).length,uploads+=(await store.driver.list(store.paths.uploadsRoot(repo))).length;return{blobs,bytes,repositories:repos.length,tags:tags2,uploads,at:Date.now()}}var StatsCache=class{constructor(store,maxAgeMs=15e3){this.store=store;this.maxAgeMs=maxAgeMs}store;maxAgeMs;last;running;async get(){return this.last&&Date.now()-this.last.at<this.maxAgeMs?this.last:(this.running??=walkStats(this.store).finally(()=>{this.running=void 0}),this.last=await this.running,this.last)}invalidate(){this.last=void 0}};import{createHash}from"node:crypto";import{X509Certificate}from"node:crypto";import{access,constants,readFile}from"node:fs/promises";var DEFAULT_MIN_FREE_BYTES=256*1024*1024;async function storageWritable(driver,dir){try{return await driver.checkWritable(dir),{name:"storage-writable",ok:!0,detail:dir}}catch(err){return{name:"storage-writable",ok:!1,detail:`${dir}: ${err.code??err.message}`}}}async function freeDisk(driver,dir,min){try{let free=await driver.freeBytes(dir);if(free===void 0)return{name:"disk-free",ok:!0,detail:`${driver.kind}: no free-space limit to check`};let mib=n=>`${Math.floor(n/1024/1024)} MiB`;return{name:"disk-free",ok:free>=min,detail:`${mib(free)} free, ${mib(min)} required`}}catch(err){return{name:"disk-free",ok:!1,detail:err.message}}}async function certificate(file){try{let cert=new X509Certificate(await readFile(file)),days=Math.floor((Date.parse(cert.validTo)-Date.now())/864e5),notYet=Date.parse(cert.validFrom)>Date.now();return{name:"tls-certificate",ok:days>=0&&!notYet,detail:notYet?`not valid before ${cert.validFrom}`:`${days} day(s) left (until ${cert.validTo})`}}catch(err){return{name:"tls-certificate",ok:!1,detail:`${file}: ${err.code??err.message}`}}}async function readable2(name,file){try{return await access(file,constants.R_OK),{name,ok:!0,detail:file}}catch(err){return{name,ok:!1,detail:`${file}: ${err.code??err.message}`}}}function withoutDetails(r){return{status:r.status,...r.mode?{mode:r.mode}:{},checks:r.checks.map(c=>({name:c.name,ok:c.ok}))}}var READINESS_MAX_AGE_MS=2e3,ReadinessCache=class{constructor(o,maxAgeMs=READINESS_MAX_AGE_MS){this.o=o;this.maxAgeMs=maxAgeMs}o;maxAgeMs;last;running;async get(){return this.last&&Date.now()-this.last.at<this.maxAgeMs?this.last.result:(this.running??=checkReadiness(this.o).then(result=>(this.last={result,at:Date.now()},result)).finally(()=>{this.running=void 0}),this.running)}},READ_ONLY_CHECK={name:"read-only",ok:!0,detail:"serving read-only (serve --read-only): pulls only, writes refused"};async function checkReadiness(o){let checks=await Promise.all([o.readOnly?Promise.resolve(READ_ONLY_CHECK):storageWritable(o.driver,o.storageDir),...o.readOnly?[]:[freeDisk(o.driver,o.storageDir,o.minFreeBytes??DEFAULT_MIN_FREE_BYTES)],...o.certFile?[certificate(o.certFile)]:[],...o.htpasswdFile?[readable2("htpasswd-readable",o.htpasswdFile)]:[]]),ready=checks.every(c=>c.ok);for(let u of o.upstreams?.()??[]){let detail=u.state==="down"?`${u.url}: down since ${u.since} (${u.reason})`:u.state==="up"?`${u.url}: up`:`${u.url}: not asked yet`;checks.push({name:`upstream ${u.host}`,ok:u.state!=="down",detail})}return{status:ready?"ready":"not-ready",...o.readOnly?{mode:"read-only"}:{},checks}}async function isSignedInStore(store,repository,digest){try{let d=await store.manifests.resolve(repository,signatureTag(digest));return d?(await store.manifests.get(repository,formatDigest(d))).parsed.blobs.some(b=>b.mediaType===SIMPLE_SIGNING_MEDIA_TYPE&&typeof b.annotations?.[SIGNATURE_ANNOTATION]=="string"):!1}catch{return!1}}var SPDX_TYPE="application/spdx+json",MAX_SBOM_BYTES=32*1024*1024,MAX_ENVELOPE_BYTES=4*1024*1024,MAX_ARTIFACTS=32,MAX_LICENSES=20;function isObject(v){return typeof v=="object"&&v!==null&&!Array.isArray(v)}async function firstLayer(store,repository,digest,read,max){let m=await store.manifests.get(repository,digest),layer=m.parsed.isIndex?void 0:m.parsed.blobs.find(b=>b!==m.parsed.config);if(!(!layer||layer.size>max))return parseDigest(layer.digest),read(layer.digest,max)}async function sbomView(store,repository,s,r,read){let summary=summaryFromAnnotations(r.annotations);if(!summary){let doc=await firstLayer(store,repository,r.digest,read,MAX_SBOM_BYTES);if(!doc)return;summary=summarizeSpdx(JSON.parse(doc.toString("utf8")))}if(!summary)return;let licenses=Object.entries(summary.licenses).sort((a,b)=>b[1]-a[1]||a[0].localeCompare(b[0]));return{subject:s.digest,platform:s.platform,digest:r.digest,version:summary.version,packages:summary.packages,licenses:licenses.slice(0,MAX_LICENSES),licensesTruncated:licenses.length>MAX_LICENSES}}async function provenanceView(store,repository,s,r,read){let bytes=await firstLayer(store,repository,r.digest,read,MAX_ENVELOPE_BYTES);if(!bytes)return;let statement=statementOf(bytes);if(!statement||statement.predicateType!==SLSA_PROVENANCE||!isObject(statement.predicate))return;let envelope=JSON.parse(bytes.toString("utf8")),p=statement.predicate,def=isObject(p.buildDefinition)?p.buildDefinition:{},run=isObject(p.runDetails)?p.runDetails:{},meta=isObject(run.metadata)?run.metadata:{},str=v=>typeof v=="string"?v:null,parameters={};if(isObject(def.externalParameters))for(let[k,v]of Object.entries(def.externalParameters))parameters[k]=Array.isArray(v)?v.map(String).join(" "):String(v);let layers=(Array.isArray(def.resolvedDependencies)?def.resolvedDependencies:[]).filter(isObject).filter(d=>isObject(d.digest)&&typeof d.digest.gitCommit=="string").map(d=>({name:str(d.name)??"",uri:str(d.uri),revision:str(d.digest.gitCommit)}));return{subject:s.digest,platform:s.platform,digest:r.digest,builder:isObject(run.builder)?str(run.builder.id):null,buildType:str(def.buildType),startedOn:str(meta.startedOn),finishedOn:str(meta.finishedOn),parameters,layers,signatures:Array.isArray(envelope.signatures)?envelope.signatures.length:0}}async function supplyChainView(store,repository,subjects,read){let work=[];for(let s of subjects)for(let r of s.referrers)(r.artifactType===SPDX_TYPE||r.artifactType===IN_TOTO_PAYLOAD_TYPE)&&work.push({s,r});let views=await mapLimited(work.slice(0,MAX_ARTIFACTS),4,async({s,r})=>{try{return r.artifactType===SPDX_TYPE?await sbomView(store,repository,s,r,read):await provenanceView(store,repository,s,r,read)}catch{return}}),signed=subjects[0]?await isSignedInStore(store,repository,subjects[0].digest):!1,view={sboms:[],provenance:[],signed};for(let v of views)v&&("packages"in v?view.sboms.push(v):view.provenance.push(v));return view}var PROMINENT_LABELS=["org.opencontainers.image.version","org.opencontainers.image.revision","org.opencontainers.image.ref.name","org.opencontainers.image.source","org.opencontainers.image.created","org.opencontainers.image.title"],MAX_CONFIG_BYTES=1024*1024,MAX_TAGS_EXAMINED=1e3,MAX_TAGS_HERE=100,MAX_INDEX_CHILDREN=64,MAX_CHILD_MANIFEST_BYTES=1024*1024,IMAGE_CONFIG_TYPES=new Set([MEDIA_TYPES.ociConfig,MEDIA_TYPES.dockerConfig]);function param(url,name){let v=url.searchParams.get(name);if(v===null||v==="")throw new RegistryError("UNSUPPORTED",`query parameter ${name} is required`,{status:400});return v}function repositoryParam(url){let name=param(url,"repository");return assertRepositoryName(name),name}async function repositories(deps,req,res,access2){await access2.authorize("catalog");let all=await deps.store.catalog(),visible=await takeInOrder(all,void 0,async name=>await access2.may("pull",name)?name:void 0),list=await takeInOrder(visible,void 0,async name=>({name,tags:(await tagFolderNames(deps.store,name)).length})),stats=await deps.stats.get(),tags2=list.reduce((sum,r)=>sum+r.tags,0);sendJson(req,res,200,{repositories:list,stats:{bytes:stats.bytes,blobs:stats.blobs,tags:tags2}},{"Cache-Control":"no-store"})}async function tags(deps,req,res,url,access2){let repository=repositoryParam(url);if(await access2.authorize("pull",repository),!await deps.store.manifests.exists(repository))throw new RegistryError("NAME_UNKNOWN",`repository ${repository} not known to registry`);let all=await tagFolderNames(deps.store,repository),n=Math.min(500,Math.max(1,Number(url.searchParams.get("n"))||50)),filter=(url.searchParams.get("q")??"").toLowerCase(),matching=filter?all.filter(t=>t.toLowerCase().includes(filter)):all,rows=await takeInOrder(namesAfter(matching,url.searchParams.get("last")||void 0),n+1,async tag=>{let d=await deps.store.manifests.resolve(repository,tag);if(d)try{let m=await deps.store.manifests.get(repository,formatDigest(d));return{tag,digest:formatDigest(m.digest),mediaType:m.parsed.mediaType,isIndex:m.parsed.isIndex,size:m.body.length}}catch{return{tag,digest:"",mediaType:"",isIndex:!1,size:0}}}),page=rows.slice(0,n);sendJson(req,res,200,{repository,total:matching.length,tags:page,next:rows.length>n?page[page.length-1].tag:null,mayDelete:await access2.may("delete",repository)},{"Cache-Control":"no-store"})}async function readBounded2(store,d,max){let size=await store.blobs.size(d);if(size===void 0||size>max)return;let chunks=[],total=0;for await(let chunk of store.blobs.open(d,{start:0,end:max})){if(total+=chunk.length,total>max)return;chunks.push(chunk)}return Buffer.concat(chunks)}function stringMap(v){let out=Object.create(null);if(!v||typeof v!="object"||Array.isArray(v))return out;for(let[k,x]of Object.entries(v))typeof x=="string"&&(out[k]=x);return out}async function readConfig(store,config){if(!(!config||config.size>MAX_CONFIG_BYTES))try{let data=await readBounded2(store,parseDigest(config.digest),MAX_CONFIG_BYTES);if(!data)return;let doc=JSON.parse(data.toString("utf8"));if(!doc||typeof doc!="object")return;let c=doc.config&&typeof doc.config=="object"?doc.config:{},strings=v=>Array.isArray(v)?v.map(String):void 0;return{created:typeof doc.created=="string"?doc.created:void 0,architecture:typeof doc.architecture=="string"?doc.architecture:void 0,os:typeof doc.os=="string"?doc.os:void 0,entrypoint:strings(c.Entrypoint),cmd:strings(c.Cmd),env:strings(c.Env),workingDir:typeof c.WorkingDir=="string"&&c.WorkingDir?c.WorkingDir:void 0,user:typeof c.User=="string"&&c.User?c.User:void 0,exposedPorts:c.ExposedPorts&&typeof c.ExposedPorts=="object"?Object.keys(c.ExposedPorts):void 0,labels:stringMap(c.Labels)}}catch{return}}function artifactTypeOf(m){let t=m.artifactType;return t&&!IMAGE_CONFIG_TYPES.has(t)?t:void 0}async function childSizes(store,repository,children){return mapLimited(children.slice(0,MAX_INDEX_CHILDREN),8,async child=>{try{let d=await store.manifests.resolve(repository,child.digest);if(!d)return;let body=await readBounded2(store,d,MAX_CHILD_MANIFEST_BYTES);if(!body)return;let parsed=store.manifests.parse(d,body);return parsed.isIndex?void 0:{bytes:body.length,blobs:parsed.blobs}}catch{return}})}async function indexSizes(store,repository,indexBytes,children){let read=await childSizes(store,repository,children),blobs=new Map,total=indexBytes,complete=!0,perChild=children.map((child,i)=>{let r=read[i];if(total+=child.size,!r)return complete=!1,null;for(let b of r.blobs)blobs.set(b.digest,b.size);return r.blobs.reduce((sum,b)=>sum+b.size,0)});for(let size of blobs.values())total+=size;return{perChild,total,complete}}async function tagsPointingAt(store,repository,digest){let names=await tagFolderNames(store,repository),examined=names.slice(0,MAX_TAGS_EXAMINED),found=await takeInOrder(examined,MAX_TAGS_HERE+1,async tag=>{let d=await store.manifests.resolve(repository,tag).catch(()=>{});return d&&formatDigest(d)===digest?tag:void 0});return{tags:found.slice(0,MAX_TAGS_HERE),truncated:found.length>MAX_TAGS_HERE||names.length>examined.length}}async function image(deps,req,res,url,access2){let repository=repositoryParam(url),reference=param(url,"reference");await access2.authorize("pull",repository);let m=await deps.store.manifests.get(repository,reference),digest=formatDigest(m.digest),config=m.parsed.isIndex?void 0:await readConfig(deps.store,m.parsed.config),layers=m.parsed.isIndex?[]:m.parsed.blobs.filter(b=>b!==m.parsed.config),sized=m.parsed.isIndex?await indexSizes(deps.store,repository,m.body.length,m.parsed.manifests):void 0,totalSize=sized?sized.total:m.body.length+m.parsed.blobs.reduce((sum,b)=>sum+b.size,0),labels=config?.labels??stringMap(void 0),annotations=stringMap(m.parsed.annotations),prominent={};for(let key of PROMINENT_LABELS){let v=labels[key]||annotations[key];v&&(prominent[key]=v)}let referrers=await deps.store.referrers(repository,m.digest).catch(()=>[]),subjects=[{digest,platform:null,referrers}];for(let child of m.parsed.manifests.slice(0,MAX_INDEX_CHILDREN)){let d=tryParseDigest(child.digest);if(!d)continue;let childReferrers=await deps.store.referrers(repository,d).catch(()=>[]),p=child.platform;childReferrers.length&&subjects.push({digest:child.digest,platform:p?[p.os,p.architecture,p.variant].filter(Boolean).join("/"):null,referrers:childReferrers})}let supplyChain=await supplyChainView(deps.store,repository,subjects,async(blob,max)=>{let d=tryParseDigest(blob);return d?readBounded2(deps.store,d,max):void 0}),{tags:tagsHere,truncated:tagsTruncated}=await tagsPointingAt(deps.store,repository,digest);!reference.includes(":")&&!tagsHere.includes(reference)&&tagsHere.unshift(reference),sendJson(req,res,200,{repository,reference,digest,mediaType:m.parsed.mediaType,isIndex:m.parsed.isIndex,manifestSize:m.body.length,totalSize,totalComplete:sized?.complete??!0,platforms:m.parsed.manifests.map((d,i)=>({digest:d.digest,mediaType:d.mediaType,size:d.size,imageSize:sized?.perChild[i]??null,platform:d.platform??null,annotations:d.annotations??{}})),configDescriptor:m.parsed.config??null,layers:layers.map(l=>({digest:l.digest,mediaType:l.mediaType,size:l.size})),config:config??null,prominent,labels,annotations,subject:m.parsed.subject??null,artifactType:artifactTypeOf(m.parsed)??null,referrers,supplyChain,tags:tagsHere,tagsTruncated,mayDelete:await access2.may("delete",repository)},{"Cache-Control":"no-store"})}async function deleteTag(deps,req,res,url,access2){let repository=repositoryParam(url),tag=param(url,"tag"),user=await access2.authorize("delete",repository),before=await deps.store.manifests.get(repository,tag);if(!await deps.store.manifests.deleteTag(repository,tag))throw new RegistryError("MANIFEST_UNKNOWN",`tag ${tag} unknown in ${repository}`);deps.stats.invalidate(),sendJson(req,res,200,{deleted:{repository,tag}});let target={repository,tag,digest:formatDigest(before.digest),mediaType:before.parsed.mediaType,size:before.body.length};deps.events.publish("manifest",manifestEvent("delete",target,requestInfo(req),user))}async function serveUiApi(deps,call,req,res,url,access2){let method=req.method??"GET";req.resume();let read=method==="GET"||method==="HEAD";if(call==="repositories"&&read)return repositories(deps,req,res,access2);if(call==="tags"&&read)return tags(deps,req,res,url,access2);if(call==="image"&&read)return image(deps,req,res,url,access2);if(call==="tag"&&method==="DELETE")return deleteTag(deps,req,res,url,access2);throw new RegistryError("UNSUPPORTED",`no such UI call: ${method} ${call}`,{status:404})}var UI_ASSETS={"app.css":{type:"text/css; charset=utf-8",body:`:root {
  --bg: #fbfbfc; --fg: #1d2126; --muted: #5d6670; --line: #dde1e6; --card: #fff;
  --accent: #2f6fb3; --accent-fg: #fff; --danger: #b3261e; --code: #f1f3f5; --hi: #fff7e0; --hi-line: #f0d48a;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #15181c; --fg: #e3e6ea; --muted: #98a2ad; --line: #2d333a; --card: #1c2025;
    --accent: #6aa5e8; --accent-fg: #0d1117; --danger: #f2726a; --code: #22272e; --hi: #2b2616; --hi-line: #6b5a26;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; align-items: center; gap: 1rem; flex-wrap: wrap; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
.brand { display: inline-flex; align-items: center; gap: .4rem; font-weight: 600; color: var(--fg); text-decoration: none; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
a { color: var(--accent); }
h1 { font-size: 1.35rem; margin: .2rem 0 .8rem; overflow-wrap: anywhere; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
.muted { color: var(--muted); }
.crumbs { margin-bottom: .4rem; font-size: .92rem; word-break: break-all; }
.bar { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; margin-bottom: .8rem; }
input[type=search] { flex: 1 1 16rem; padding: .5rem .7rem; font: inherit; color: inherit; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
th, td { text-align: left; padding: .45rem .7rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: .85rem; color: var(--muted); }
tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .86em; }
code { background: var(--code); padding: .1em .3em; border-radius: 4px; word-break: break-all; }
.kv { display: grid; grid-template-columns: minmax(7rem, max-content) 1fr; gap: .3rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: .7rem; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; word-break: break-all; }
.labels { background: var(--hi); border: 1px solid var(--hi-line); border-radius: 6px; padding: .7rem; display: flex; flex-wrap: wrap; gap: .6rem 1.6rem; }
.labels div { min-width: 0; }
.labels .k { display: block; font-size: .8rem; color: var(--muted); }
.labels .v { font-weight: 600; word-break: break-all; }
.pull { display: flex; gap: .4rem; align-items: center; margin: .3rem 0; }
.pull .pill { min-width: 4.4rem; text-align: center; }
.pull input { flex: 1; min-width: 0; padding: .4rem .6rem; font: .86rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: inherit; background: var(--code); border: 1px solid var(--line); border-radius: 6px; }
button { font: inherit; padding: .4rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: var(--card); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-fg); }
button.danger { border-color: var(--danger); color: var(--danger); }
button:disabled { opacity: .5; cursor: default; }
.pill { display: inline-block; padding: 0 .45rem; border-radius: 999px; border: 1px solid var(--line); font-size: .8rem; color: var(--muted); white-space: nowrap; }
.error { color: var(--danger); background: var(--card); border: 1px solid var(--danger); padding: .6rem .8rem; border-radius: 6px; }
.pager { display: flex; gap: .5rem; justify-content: flex-end; margin-top: .6rem; }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--card); color: var(--fg); max-width: 26rem; }
dialog::backdrop { background: rgb(0 0 0 / .4); }
.buttons { display: flex; justify-content: flex-end; gap: .5rem; }
.stats { display: flex; gap: 1.2rem; flex-wrap: wrap; color: var(--muted); font-size: .9rem; margin-bottom: .6rem; }
@media (max-width: 40rem) {
  main { padding: .6rem; }
  .hide-narrow { display: none; }
  .kv { grid-template-columns: 1fr; gap: 0; }
  .kv dd { margin-bottom: .4rem; }
  th, td { padding: .4rem .45rem; }
}
`},"app.js":{type:"text/javascript; charset=utf-8",body:`// The registry's web UI: a hash router over three views (repositories, tags, image), fed by
// /ui/api/. Plain DOM, no framework, no innerHTML: every value from the registry becomes text.

const main = document.getElementById('main');

/** h builds an element: h('a', {href: '#'}, 'text', child). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function bytes(n) {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return \`\${i === 0 ? String(n) : n.toFixed(1)} \${units[i]}\`;
}

function shortDigest(d) {
  return d ? d.replace(/^sha256:/, '').slice(0, 12) : '';
}

function platformText(p) {
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/') + (p['os.version'] ? \` \${p['os.version']}\` : '');
}

function link(params) {
  return \`#\${new URLSearchParams(params).toString()}\`;
}

class ApiError extends Error {}

// The API's base from the origin and path alone: a page opened as https://user:pw@host/ui/ keeps
// the credentials in its base URL, and fetch refuses a URL built on it ("Request cannot be
// constructed from a URL that includes credentials"). The browser's login for the origin still
// goes with each call.
const API_BASE = new URL('api/', location.origin + location.pathname);

async function api(path, init) {
  const res = await fetch(new URL(path, API_BASE), Object.assign({ headers: { Accept: 'application/json' }, credentials: 'same-origin' }, init));
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg = body?.errors?.[0] ? body.errors[0].message : \`\${res.status} \${res.statusText}\`;
    throw new ApiError(msg);
  }
  return body;
}

function show(...nodes) {
  main.replaceChildren(...nodes);
}

function showError(err) {
  show(
    h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err)),
    h('p', {}, h('a', { href: '#' }, 'Back to the repositories')),
  );
}

/** copyText writes to the clipboard; over plain HTTP (not a secure context) it falls back to a selection copy. */
async function copyText(text, input) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection copy
  }
  input.focus();
  input.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  }
}

function pullLine(label, command) {
  const input = h('input', { type: 'text', readonly: true, value: command, 'aria-label': \`\${label} command\` });
  const button = h('button', { type: 'button', title: 'Copy to the clipboard' }, 'Copy');
  button.addEventListener('click', async () => {
    const ok = await copyText(command, input);
    button.textContent = ok ? 'Copied' : 'Select + copy';
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
  return h('div', { class: 'pull' }, h('span', { class: 'pill' }, label), input, button);
}

function confirmDialog(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

// ---- repositories ----------------------------------------------------------------------------

async function viewRepositories(params) {
  document.title = 'Repositories \xB7 container registry';
  const data = await api('repositories');
  const search = h('input', { type: 'search', placeholder: 'Search repositories', 'aria-label': 'Search repositories', value: params.get('q') || '' });
  const tbody = h('tbody');
  const count = h('span');
  const render = () => {
    const q = search.value.trim().toLowerCase();
    const rows = data.repositories.filter((r) => r.name.toLowerCase().includes(q));
    count.textContent = \`\${rows.length} of \${data.repositories.length} repositories\`;
    tbody.replaceChildren(
      ...rows.map((r) =>
        h('tr', {}, h('td', {}, h('a', { href: link({ repo: r.name }) }, r.name)), h('td', { class: 'num' }, r.tags + (r.tags === 1 ? ' tag' : ' tags'))),
      ),
    );
    if (rows.length === 0)
      tbody.append(
        h(
          'tr',
          {},
          h('td', { colspan: 2, class: 'muted' }, data.repositories.length ? 'No repository matches.' : 'The registry is empty: push an image to see it here.'),
        ),
      );
  };
  search.addEventListener('input', () => {
    render();
    history.replaceState(null, '', search.value ? link({ q: search.value }) : '#');
  });
  render();
  show(
    h('h1', {}, 'Repositories'),
    h('div', { class: 'stats' }, count, h('span', {}, \`\${data.stats.tags} tags\`), h('span', {}, \`\${bytes(data.stats.bytes)} in \${data.stats.blobs} blobs\`)),
    h('div', { class: 'bar' }, search),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Repository'), h('th', { class: 'num' }, 'Tags'))), tbody),
  );
  search.focus();
}

// ---- tags -----------------------------------------------------------------------------------

async function viewTags(params) {
  const repo = params.get('repo');
  const last = params.get('last') || '';
  const q = params.get('q') || '';
  document.title = \`\${repo} \xB7 container registry\`;
  const query = new URLSearchParams({ repository: repo, n: '50' });
  if (last) query.set('last', last);
  if (q) query.set('q', q);
  const data = await api(\`tags?\${query}\`);
  const search = h('input', { type: 'search', placeholder: 'Filter tags', 'aria-label': 'Filter tags', value: q });
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => (location.hash = link(Object.assign({ repo }, search.value ? { q: search.value } : {}))), 250);
  });
  const rows = data.tags.map((t) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: link({ repo, ref: t.tag }) }, t.tag)),
      h('td', { class: 'mono' }, shortDigest(t.digest)),
      h('td', { class: 'hide-narrow' }, h('span', { class: 'pill' }, t.isIndex ? 'index' : 'image')),
    ),
  );
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No tags.')));
  const pager = h('div', { class: 'pager' });
  if (last) pager.append(h('button', { type: 'button', onclick: () => history.back() }, '\u2190 Previous'));
  if (data.next)
    pager.append(
      h(
        'button',
        { type: 'button', class: 'primary', onclick: () => (location.hash = link(Object.assign({ repo, last: data.next }, q ? { q } : {}))) },
        'Next \u2192',
      ),
    );
  show(
    h('div', { class: 'crumbs' }, h('a', { href: '#' }, 'Repositories'), ' / '),
    h('h1', {}, repo),
    h('div', { class: 'stats' }, h('span', {}, data.total + (data.total === 1 ? ' tag' : ' tags'))),
    h('div', { class: 'bar' }, search),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Tag'), h('th', {}, 'Digest'), h('th', { class: 'hide-narrow' }, 'Kind'))), h('tbody', {}, rows)),
    pager,
  );
}

// ---- image ----------------------------------------------------------------------------------

function kv(pairs) {
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    dl.append(h('dt', {}, k), h('dd', {}, v));
  }
  return dl;
}

const LABEL_NAMES = {
  'org.opencontainers.image.version': 'Version',
  'org.opencontainers.image.revision': 'Revision',
  'org.opencontainers.image.ref.name': 'Branch / ref',
  'org.opencontainers.image.source': 'Source',
  'org.opencontainers.image.created': 'Created',
  'org.opencontainers.image.title': 'Title',
};

async function deleteTag(repo, tag) {
  if (
    !(await confirmDialog(
      'Delete the tag ' +
        repo +
        ':' +
        tag +
        '? The image stays reachable by its digest (and other tags) until gc --delete-untagged removes what no tag reaches.',
    ))
  )
    return;
  try {
    await api(\`tag?\${new URLSearchParams({ repository: repo, tag })}\`, { method: 'DELETE' });
    location.hash = link({ repo });
  } catch (err) {
    showError(err);
  }
}

function indexSizeNote(img) {
  return img.totalComplete ? ' (every platform; layers they share counted once)' : ' (at least: some platforms could not be sized)';
}

async function viewImage(params) {
  const repo = params.get('repo');
  const ref = params.get('ref');
  document.title = \`\${repo + (ref.includes(':') ? '@' : ':') + shortDigest(ref)} \xB7 container registry\`;
  const img = await api(\`image?\${new URLSearchParams({ repository: repo, reference: ref })}\`);
  const byDigest = ref.includes(':');
  const name = \`\${location.host}/\${repo}\${byDigest ? \`@\${ref}\` : \`:\${ref}\`}\`;
  const insecure = location.protocol === 'http:';
  const parts = [
    h('div', { class: 'crumbs' }, h('a', { href: '#' }, 'Repositories'), ' / ', h('a', { href: link({ repo }) }, repo), ' /'),
    h('h1', {}, repo, byDigest ? h('span', { class: 'muted' }, \`@\${shortDigest(ref)}\`) : \`:\${ref}\`),
  ];
  const prominent = Object.entries(img.prominent);
  if (prominent.length) {
    parts.push(
      h(
        'section',
        { class: 'labels', 'aria-label': 'Build labels' },
        prominent.map(([k, v]) => h('div', {}, h('span', { class: 'k' }, LABEL_NAMES[k] || k), h('span', { class: 'v' }, v))),
      ),
    );
  }
  parts.push(
    h('h2', {}, 'Pull'),
    pullLine('docker', \`docker pull \${name}\`),
    pullLine('podman', \`podman pull \${insecure ? '--tls-verify=false ' : ''}\${name}\`),
    pullLine(
      'skopeo',
      'skopeo copy ' +
        (img.isIndex ? '--all ' : '') +
        (insecure ? '--src-tls-verify=false ' : '') +
        'docker://' +
        name +
        ' oci:' +
        repo.split('/').pop() +
        ':' +
        (byDigest ? 'latest' : ref),
    ),
  );
  const config = img.config || {};
  parts.push(
    h('h2', {}, 'Manifest'),
    kv([
      ['Digest', h('code', {}, img.digest)],
      ['Media type', img.mediaType],
      ['Total size', bytes(img.totalSize) + (img.isIndex ? indexSizeNote(img) : '')],
      ['Platform', config.os ? platformText({ os: config.os, architecture: config.architecture }) : undefined],
      ['Created', config.created],
      // The API names an artifact type only for artifacts (never an image's config type).
      ['Artifact type', img.artifactType || undefined],
      ['Subject', img.subject ? h('a', { href: link({ repo, ref: img.subject.digest }) }, img.subject.digest) : undefined],
      ['Tags here', img.tags.join(', ') + (img.tagsTruncated ? ' (and maybe more: the repository has too many tags to search them all)' : '')],
    ]),
  );
  if (img.isIndex) {
    parts.push(
      h('h2', {}, 'Platforms'),
      h(
        'table',
        { id: 'platforms' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Platform'), h('th', {}, 'Digest'), h('th', { class: 'num' }, 'Size'))),
        h(
          'tbody',
          {},
          img.platforms.map((p) =>
            h(
              'tr',
              {},
              h('td', {}, platformText(p.platform)),
              h('td', { class: 'mono' }, h('a', { href: link({ repo, ref: p.digest }) }, shortDigest(p.digest))),
              h('td', { class: 'num', title: \`manifest \${bytes(p.size)}\` }, p.imageSize === null ? '\u2014' : bytes(p.imageSize)),
            ),
          ),
        ),
      ),
    );
  }
  if (img.layers.length) {
    parts.push(
      h('h2', {}, 'Layers'),
      h(
        'table',
        { id: 'layers' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', {}, '#'), h('th', {}, 'Digest'), h('th', { class: 'hide-narrow' }, 'Media type'), h('th', { class: 'num' }, 'Size')),
        ),
        h(
          'tbody',
          {},
          img.layers.map((l, i) =>
            h(
              'tr',
              {},
              h('td', {}, String(i + 1)),
              h('td', { class: 'mono' }, shortDigest(l.digest)),
              h('td', { class: 'hide-narrow' }, l.mediaType),
              h('td', { class: 'num' }, bytes(l.size)),
            ),
          ),
        ),
      ),
    );
  }
  if (img.config) {
    parts.push(
      h('h2', {}, 'Config'),
      kv([
        ['Entrypoint', config.entrypoint ? h('code', {}, JSON.stringify(config.entrypoint)) : undefined],
        ['Cmd', config.cmd ? h('code', {}, JSON.stringify(config.cmd)) : undefined],
        ['Working dir', config.workingDir],
        ['User', config.user],
        ['Ports', (config.exposedPorts || []).join(', ')],
        [
          'Env',
          (config.env || []).length
            ? h(
                'div',
                {},
                config.env.map((e) => h('div', {}, h('code', {}, e))),
              )
            : undefined,
        ],
      ]),
    );
  }
  // Empty values (buildah writes org.opencontainers.image.base.* so) say nothing: no empty box.
  const labels = Object.entries(img.labels).filter(([, v]) => v !== '');
  const annotations = Object.entries(img.annotations).filter(([, v]) => v !== '');
  if (labels.length) parts.push(h('h2', {}, 'Labels'), kv(labels.map(([k, v]) => [k, v])));
  if (annotations.length) parts.push(h('h2', {}, 'Annotations'), kv(annotations.map(([k, v]) => [k, v])));
  parts.push(h('h2', {}, 'Referrers'));
  if (img.referrers.length) {
    parts.push(
      h(
        'table',
        { id: 'referrers' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Artifact type'), h('th', {}, 'Digest'), h('th', { class: 'num' }, 'Size'))),
        h(
          'tbody',
          {},
          img.referrers.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, r.artifactType || r.mediaType),
              h('td', { class: 'mono' }, h('a', { href: link({ repo, ref: r.digest }) }, shortDigest(r.digest))),
              h('td', { class: 'num' }, bytes(r.size)),
            ),
          ),
        ),
      ),
    );
  } else {
    parts.push(h('p', { class: 'muted' }, 'No signatures, SBOMs or other artifacts refer to this manifest.'));
  }
  parts.push(...supplyChainSection(repo, img.supplyChain));
  if (img.mayDelete && !byDigest) {
    parts.push(
      h('h2', {}, 'Manage'),
      h('button', { type: 'button', class: 'danger', id: 'delete-tag', onclick: () => deleteTag(repo, ref) }, \`Delete tag \${ref}\`),
    );
  }
  show(...parts);
}

// ---- supply chain: SBOM, provenance, whether it is signed ---------------------------------------

function platformNote(item) {
  return item.platform ? \` (\${item.platform})\` : '';
}

function supplyChainSection(repo, sc) {
  if (!sc || (!sc.sboms.length && !sc.provenance.length && !sc.signed)) return [];
  const parts = [h('h2', {}, 'Supply chain')];
  parts.push(h('p', { id: 'signed', class: sc.signed ? 'pill' : 'muted' }, sc.signed ? 'Signed' : 'Not signed'));
  for (const s of sc.sboms) {
    parts.push(
      h('h3', {}, \`SBOM\${platformNote(s)}\`),
      kv([
        ['Format', s.version],
        ['Packages', String(s.packages)],
        ['Artifact', h('a', { href: link({ repo, ref: s.digest }) }, shortDigest(s.digest))],
      ]),
    );
    if (s.licenses.length) {
      parts.push(
        h(
          'table',
          { class: 'sbom-licenses' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Licence'), h('th', { class: 'num' }, 'Packages'))),
          h(
            'tbody',
            {},
            s.licenses.map(([expr, n]) => h('tr', {}, h('td', {}, expr), h('td', { class: 'num' }, String(n)))),
          ),
        ),
      );
      if (s.licensesTruncated) parts.push(h('p', { class: 'muted' }, 'The most used licences; the SBOM has more.'));
    }
  }
  for (const p of sc.provenance) {
    parts.push(
      h('h3', {}, \`Provenance\${platformNote(p)}\`),
      kv([
        ['Builder', p.builder],
        ['Build type', p.buildType],
        ['Started', p.startedOn],
        ['Finished', p.finishedOn],
        ...Object.entries(p.parameters),
        ['Signatures', p.signatures ? String(p.signatures) : 'none (unsigned envelope)'],
        ['Artifact', h('a', { href: link({ repo, ref: p.digest }) }, shortDigest(p.digest))],
      ]),
    );
    if (p.layers.length) {
      parts.push(
        h(
          'table',
          { class: 'provenance-layers' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Layer'), h('th', { class: 'hide-narrow' }, 'Repository'), h('th', {}, 'Revision'))),
          h(
            'tbody',
            {},
            p.layers.map((l) =>
              h(
                'tr',
                {},
                h('td', {}, l.name),
                h('td', { class: 'hide-narrow' }, l.uri || ''),
                h('td', { class: 'mono', title: l.revision || '' }, (l.revision || '').slice(0, 12)),
              ),
            ),
          ),
        ),
      );
    }
  }
  return parts;
}

// ---- router ---------------------------------------------------------------------------------

async function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  try {
    if (params.get('repo') && params.get('ref')) await viewImage(params);
    else if (params.get('repo')) await viewTags(params);
    else await viewRepositories(params);
  } catch (err) {
    showError(err);
  }
}

document.getElementById('where').textContent = location.host;
window.addEventListener('hashchange', route);
route();
`},"favicon.svg":{type:"image/svg+xml",body:`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="8" width="28" height="18" rx="3" fill="#2f6fb3"/><path d="M8 8v18M14 8v18M20 8v18M26 8v18" stroke="#fff" stroke-width="2" opacity=".55"/><rect x="9" y="3" width="14" height="6" rx="2" fill="#e08a1e"/></svg>
`},"index.html":{type:"text/html; charset=utf-8",body:`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Container registry</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="app.css">
<script src="app.js" defer></script>
</head>
<body>
<header>
  <a href="#" class="brand"><img src="favicon.svg" alt="" width="22" height="22"> container-registry</a>
  <span id="where" class="muted"></span>
</header>
<main id="main" aria-live="polite"><p class="muted">Loading\u2026</p></main>
<dialog id="confirm">
  <form method="dialog">
    <p id="confirm-text"></p>
    <div class="buttons">
      <button value="cancel" id="confirm-cancel">Cancel</button>
      <button value="ok" id="confirm-ok" class="danger">Delete</button>
    </div>
  </form>
</dialog>
<noscript>This page needs JavaScript; the registry API is at /v2/.</noscript>
</body>
</html>
`}};var METRICS_ACCESS_MODES=["loopback","policy","anonymous","off"];function isLoopback(address){return address==="::1"||/^(::ffff:)?127\./.test(address)}function isThisMachine(socket){let remote=socket.remoteAddress??"";return isLoopback(remote)||remote!==""&&remote===socket.localAddress}var CSP="default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",ASSETS=new Map(Object.entries(UI_ASSETS).map(([name,a])=>[name,{...a,etag:`"${createHash("sha256").update(a.body).digest("hex").slice(0,16)}"`}]));function serveAsset(req,res,name){let asset=ASSETS.get(name);if(!asset)throw new RegistryError("UNSUPPORTED","no such page",{status:404});let etag=asset.etag,headers={"Content-Type":asset.type,ETag:etag,"Cache-Control":"no-cache","Content-Security-Policy":CSP};if(req.resume(),req.headers["if-none-match"]===etag){res.writeHead(304,headers),res.end();return}let body=Buffer.from(asset.body);res.writeHead(200,{...headers,"Content-Length":String(body.length)}),res.end(req.method==="HEAD"?void 0:body)}function readOnly(req){let m=req.method??"GET";if(m!=="GET"&&m!=="HEAD")throw new RegistryError("METHOD_UNKNOWN",`method ${m} is not supported for this route`)}async function mayReadDetails(req,access2){return isThisMachine(req.socket)?!0:req.headers.authorization===void 0?!1:await access2.authorize("metrics").catch(()=>{})!==void 0}function extraEndpoints(o){let readiness=new ReadinessCache(o.readiness);return{routeOf(pathname){if(pathname==="/healthz")return"healthz";if(pathname==="/readyz")return"readyz";if(pathname==="/metrics"&&o.metricsAccess!=="off")return"metrics";if(o.ui&&pathname==="/")return"root";if(o.ui&&(pathname==="/ui"||pathname.startsWith("/ui/")))return pathname.startsWith("/ui/api/")?"ui-api":"ui"},async serve(kind,req,res,url,access2){switch(kind){case"healthz":return readOnly(req),req.resume(),sendJson(req,res,200,{status:"ok"},{"Cache-Control":"no-store"});case"readyz":{readOnly(req),req.resume();let[r,details]=await Promise.all([readiness.get(),mayReadDetails(req,access2)]);return sendJson(req,res,r.status==="ready"?200:503,details?r:withoutDetails(r),{"Cache-Control":"no-store"})}case"metrics":{readOnly(req),req.resume(),o.metricsAccess==="anonymous"||o.metricsAccess==="loopback"&&isLoopback(access2.remoteAddress)||await access2.authorize("metrics");let{body,contentType}=await o.metrics.render(),data=Buffer.from(body);res.writeHead(200,{"Content-Type":contentType,"Content-Length":String(data.length),"Cache-Control":"no-store"}),res.end(req.method==="HEAD"?void 0:data);return}case"root":readOnly(req),req.resume(),res.writeHead(302,{Location:"/ui/","Content-Length":"0"}),res.end();return;case"ui":{if(readOnly(req),await access2.authorize("ui"),url.pathname==="/ui"){req.resume(),res.writeHead(308,{Location:"/ui/","Content-Length":"0"}),res.end();return}let name=url.pathname.slice(4)||"index.html";return serveAsset(req,res,name)}case"ui-api":return await access2.authorize("ui"),serveUiApi({store:o.store,stats:o.stats,events:o.events},url.pathname.slice(8),req,res,url,access2);default:throw new RegistryError("UNSUPPORTED","no such endpoint",{status:404})}}}}function createServices(o){let s=o.services??{},log=s.log??(line=>process.stderr.write(`container-registry: ${line}
`)),events=new RegistryEvents,stats=new StatsCache(o.store),metrics=new RegistryMetrics(events,stats,o.state),peers=o.peers;peers&&(peers.onStorageChanged(()=>stats.invalidate()),events.on("blobUpload",()=>peers.storageChanged()),events.on("manifest",e=>e.action!=="pull"&&peers.storageChanged()),peers.provideMetrics(()=>metrics.registry.getMetricsAsJSON()));let extra=extraEndpoints({store:o.store,stats,events,metrics:peers?{render:()=>peers.metrics()}:metrics,metricsAccess:s.metricsAccess??"loopback",ui:s.ui??!0,readiness:{storageDir:o.state.dir,driver:o.store.driver,minFreeBytes:s.minFreeBytes,certFile:o.certFile,htpasswdFile:s.htpasswdFile,upstreams:o.upstreams,readOnly:o.readOnly}}),notifier,mdns;return{events,metrics,extra,storageChanged:()=>stats.invalidate(),async started(address){if(s.notifications?.length&&peers){let wanted=new Set(s.notifications.flatMap(e=>e.actions));events.on("manifest",e=>wanted.has(e.action)&&peers.notify(e))}else s.notifications?.length&&(notifier=new Notifier(s.notifications,{addr:`${address.host}:${address.port}`,instanceID:address.instanceId},metrics.delivery,log),notifier.subscribe(events));if(s.mdns){isLoopback(address.host)&&log(`mDNS: the server listens on ${address.host} only; other machines will find the name but not reach it (use --listen 0.0.0.0:${address.port})`);try{mdns=await announceMdns({...s.mdns,port:address.port,tls:address.url.startsWith("https:"),log}),log(`mDNS: announcing ${mdns.hostname()} (_oci-registry._tcp, port ${address.port})`)}catch(err){log(`mDNS: cannot announce ${s.mdns.name}: ${err.message}`)}}},mdnsHostname:()=>mdns?.hostname(),async close(){await Promise.all([mdns?.stop(),notifier?.close()])}}}import{readFileSync}from"node:fs";var HTTP_TIMEOUTS={headersTimeout:3e4,requestTimeout:0,keepAliveTimeout:65e3,connectionsCheckingInterval:5e3},DEFAULT_PER_ADDRESS=512;function openFileLimit(){try{let m=/^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits","utf8"));return m&&m[1]!=="unlimited"?Number(m[1]):void 0}catch{return}}function defaultTotalConnections(limit=openFileLimit()){return limit===void 0?1e4:Math.max(64,Math.min(5e4,Math.floor(limit*.75),limit-256))}function limitConnections(server,o={}){let perAddress=o.perAddress??DEFAULT_PER_ADDRESS,total=o.total??defaultTotalConnections(),byAddress=new Map,open=0,lastSaid=new Map,say=(reason,line)=>{let now=Date.now();now-(lastSaid.get(reason)??0)<6e4||(lastSaid.set(reason,now),o.log?.(line))};server.on("connection",socket=>{let addr=socket.remoteAddress??"",mine=byAddress.get(addr)??0;if(open>=total){say("total",`refusing connections: ${open} open (limit ${total})`),socket.destroy();return}if(mine>=perAddress){say(`addr:${addr}`,`refusing connections from ${addr}: ${mine} open (limit ${perAddress} per address)`),socket.destroy();return}open++,byAddress.set(addr,mine+1),socket.once("close",()=>{open--;let n=(byAddress.get(addr)??1)-1;n<=0?byAddress.delete(addr):byAddress.set(addr,n)})})}var RateGuard=class{constructor(o={}){this.o=o;this.minBytes=o.minBytes??10*1024,this.strikes=o.strikes??3,this.timer=setInterval(()=>this.sweep(),o.windowMs??1e4),this.timer.unref()}o;watched=new Set;minBytes;strikes;timer;watch(req,res){let socket=req.socket,w={req,res,socket,bytes:socket.bytesRead+socket.bytesWritten,strikes:0};this.watched.add(w),res.once("close",()=>this.watched.delete(w))}sweep(){for(let w of this.watched){let bytes=w.socket.bytesRead+w.socket.bytesWritten,moved=bytes-w.bytes;w.bytes=bytes;let waitingForBody=!w.req.complete&&w.req.readableFlowing===!0,waitingForReader=w.res.writableNeedDrain||w.socket.writableNeedDrain;if(!(waitingForBody||waitingForReader)||moved>=this.minBytes){w.strikes=0;continue}++w.strikes>=this.strikes&&(this.watched.delete(w),this.o.log?.(`closing a stalled ${w.req.method} from ${w.socket.remoteAddress??"?"}: under ${this.minBytes} bytes per ${(this.o.windowMs??1e4)/1e3} s`),w.socket.destroy())}}close(){clearInterval(this.timer)}},QUEUE=Symbol("requestQueue");function inOrder(req,res,start){let socket=req.socket,q=socket[QUEUE]??={busy:!1,waiting:[]},run=()=>{q.busy=!0,res.once("close",()=>{q.busy=!1,q.waiting.shift()?.()}),start()};q.busy?q.waiting.push(run):run()}var PLAIN_HTTP_BODY=`Client sent an HTTP request to an HTTPS server.
`,PLAIN_HTTP_ANSWER=`HTTP/1.1 400 Bad Request\r
Content-Type: text/plain; charset=utf-8\r
Content-Length: ${Buffer.byteLength(PLAIN_HTTP_BODY)}\r
Connection: close\r
\r
`+PLAIN_HTTP_BODY;function answerPlainHttp(server){let sockets=new Map;server.on("connection",socket=>{let port=socket.remotePort;port!==void 0&&(sockets.set(port,socket),socket.once("close",()=>{sockets.get(port)===socket&&sockets.delete(port)}))}),server.prependListener("tlsClientError",(err,tls)=>{if(err.code!=="ERR_SSL_HTTP_REQUEST"||tls.remotePort===void 0)return;let socket=sockets.get(tls.remotePort);!socket?.writable||socket.remoteAddress!==tls.remoteAddress||(socket.on("error",()=>{}),socket.write(PLAIN_HTTP_ANSWER))})}var WORKER_HEADER="X-Container-Registry-Worker";var RECONNECT_AFTER_MS=1e4,CONNECTED_AT=Symbol("connectedAt");function connectedFor(socket){return Date.now()-(socket[CONNECTED_AT]??=Date.now())}var INSTANCE_HEADER="X-Container-Registry-Instance";function securityHeaders(tls){let h={"X-Content-Type-Options":"nosniff","X-Frame-Options":"DENY","Referrer-Policy":"no-referrer","Cross-Origin-Resource-Policy":"same-origin"};return tls&&(h["Strict-Transport-Security"]="max-age=31536000"),h}function tlsLoader(files){let stamp="",checkedAt=0;return{options:()=>(stamp=`${statSync(files.certFile).mtimeMs}:${statSync(files.keyFile).mtimeMs}`,{cert:readFileSync2(files.certFile),key:readFileSync2(files.keyFile)}),changed(){let now=Date.now();if(now-checkedAt<1e3)return!1;checkedAt=now;try{return`${statSync(files.certFile).mtimeMs}:${statSync(files.keyFile).mtimeMs}`!==stamp}catch{return!1}}}}function requestUrl(target){let raw=target??"/",q=raw.indexOf("?"),path=q>=0?raw.slice(0,q):raw;return{pathname:path.startsWith("/")?path:`/${path}`,searchParams:new URLSearchParams(q>=0?raw.slice(q+1):"")}}async function startRegistry(options){let peers=options.peers,store=new ImageStore(options.state.storage,await openDriver(options.state.dir,options.state.objectStore),peers?.sessionLocks);await Promise.all([store.driver.warm(),store.driver.mkdirp(store.paths.root)]);let access2=options.access??ALLOW_ALL,instanceId=options.instanceId??randomBytes(8).toString("hex"),log=options.log??serverLog,readOnly2=options.readOnly===!0,cache,services=createServices({state:options.state,store,certFile:options.tls?.certFile,services:options.services,peers,upstreams:options.cache?.upstreams.length?()=>cache?.states()??[]:void 0,readOnly:readOnly2});if(options.cache?.upstreams.length){let{PullThroughCache}=await import("./pull-through-TESX6DKP.mjs");cache=new PullThroughCache(store,options.cache.upstreams,log,services.metrics.cache)}let fixedHeaders={[API_VERSION_HEADER[0]]:API_VERSION_HEADER[1],[INSTANCE_HEADER]:instanceId,...peers?{[WORKER_HEADER]:String(peers.worker)}:{},...securityHeaders(options.tls!==void 0)},rateGuard=new RateGuard({...options.rateGuard,log}),idPrefix=instanceId.slice(0,8),idSuffix=peers?`w${peers.worker}`:"",requestCount=0,inFlight=0,closing=!1,onIdle,handler=(req,res)=>{let started=process.hrtime.bigint(),remoteAddress=req.socket.remoteAddress??"",requestId=`${idPrefix}-${(++requestCount).toString(36)}${idSuffix}`;inFlight++;for(let[k,v]of Object.entries(fixedHeaders))res.setHeader(k,v);(closing||peers&&connectedFor(req.socket)>RECONNECT_AFTER_MS)&&res.setHeader("Connection","close");let url2=requestUrl(req.url),user;res.once("close",()=>{inFlight--;try{options.accessLog?.({time:new Date().toISOString(),id:requestId,addr:remoteAddress,user:user??null,method:req.method??"",path:url2.pathname,status:res.statusCode,bytes:Number(res.getHeader("content-length")??0),ms:Number((process.hrtime.bigint()-started)/1000n)/1e3})}catch(err){log(`access log: ${err.message}`)}closing&&inFlight===0&&onIdle?.()}),rateGuard.watch(req,res),inOrder(req,res,()=>{dispatch({store,access:access2,events:services.events,extra:services.extra,log,cache,readOnly:readOnly2},req,res,url2,{remoteAddress,requestId}).then(outcome=>{user=outcome.user;let seconds=Number(process.hrtime.bigint()-started)/1e9;services.events.publish("request",{method:req.method??"",route:outcome.route,status:res.statusCode,seconds})},err=>{log(`${req.method} ${url2.pathname} [${requestId}]: ${err?.stack??String(err)}`),res.destroy()})})},server;if(options.tls){let tls=tlsLoader(options.tls),https=createHttpsServer({...HTTP_TIMEOUTS,...tls.options(),minVersion:"TLSv1.2"},handler);answerPlainHttp(https),https.on("connection",()=>{if(tls.changed())try{https.setSecureContext({...tls.options(),minVersion:"TLSv1.2"})}catch(err){process.stderr.write(`container-registry: keeping the old certificate: ${err.message}
`)}}),server=https}else server=createHttpServer({...HTTP_TIMEOUTS},handler);let perAddress=options.connections?.perAddress??Math.ceil(DEFAULT_PER_ADDRESS/(peers?.count??1));limitConnections(server,{...options.connections,perAddress,log:options.connections?.log??log}),await new Promise((resolve2,reject)=>{server.once("error",reject),server.listen({host:options.host,port:options.port},()=>{server.off("error",reject),server.on("error",err=>log(`server: ${err.message}`)),resolve2()})});let address=server.address(),scheme=options.tls?"https":"http",hostForUrl=address.family==="IPv6"?`[${address.address}]`:address.address,url=`${scheme}://${hostForUrl}:${address.port}`;try{await services.started({host:address.address,port:address.port,url,instanceId})}catch(err){throw server.close(),rateGuard.close(),await services.close().catch(()=>{}),err}return{url,host:address.address,port:address.port,instanceId,store,server,services,close(timeoutMs=1e4){return closing=!0,new Promise(resolve2=>{let timer=setTimeout(()=>server.closeAllConnections(),timeoutMs);timer.unref(),server.close(()=>{clearTimeout(timer),rateGuard.close(),cache?.close(),services.close().then(resolve2,err=>{process.stderr.write(`container-registry: stopping services: ${err.message}
`),resolve2()})}),server.closeIdleConnections(),onIdle=()=>setImmediate(()=>server.closeIdleConnections()),inFlight===0&&server.closeIdleConnections()})}}}var FailureLimiter=class{counters=new Map;free;maxDelay;forget;maxEntries;now;constructor(o={}){this.free={pair:o.pairFailures??5,user:o.userFailures??10,address:o.addressFailures??10},this.maxDelay=o.maxDelayMs??6e4,this.forget=o.forgetAfterMs??15*6e4,this.maxEntries=o.maxEntries??1e4,this.now=o.now??Date.now}keys(address,user){return[[`p\0${address}\0${user}`,this.free.pair],[`u\0${user}`,this.free.user],[`a\0${address}`,this.free.address]]}counter(key,now){let c=this.counters.get(key);if(c&&c.inflight===0&&now-c.lastFailure>this.forget&&now>=c.lockedUntil){this.counters.delete(key);return}return c}waitMs(c,free,now){return!c||c.failures+c.inflight<free?0:c.failures<free?1e3:now<c.lockedUntil?c.lockedUntil-now:c.inflight>0?1e3:0}retryAfter(address,user){let now=this.now(),ms=Math.max(...this.keys(address,user).map(([key,free])=>this.waitMs(this.counter(key,now),free,now)));return ms>0?Math.ceil(ms/1e3):0}begin(address,user){let wait=this.retryAfter(address,user);if(wait>0)return{admitted:!1,retryAfter:wait};let now=this.now(),keys=this.keys(address,user).map(([key,free])=>{let c=this.counter(key,now)??{failures:0,inflight:0,lockedUntil:0,lastFailure:now};return c.inflight++,this.touch(key,c),[key,free]}),settled=!1,settle=outcome=>{if(settled)return;settled=!0;let at=this.now(),[pairKey]=keys[0],typos=this.counters.get(pairKey)?.failures??0;for(let[key,free]of keys){let c=this.counters.get(key);if(c){if(c.inflight=Math.max(0,c.inflight-1),outcome==="failed"){c.failures++,c.lastFailure=at,c.failures>=free&&(c.lockedUntil=at+Math.min(this.maxDelay,1e3*2**Math.min(c.failures-free,30))),this.touch(key,c);continue}outcome==="succeeded"&&(c.failures=Math.max(0,c.failures-typos),c.failures<free&&(c.lockedUntil=0)),c.failures===0&&c.inflight===0&&this.counters.delete(key)}}};return{admitted:!0,attempt:{succeeded:()=>settle("succeeded"),failed:()=>settle("failed"),abandoned:()=>settle("abandoned")}}}touch(key,c){this.counters.delete(key),this.counters.set(key,c),this.counters.size>this.maxEntries&&this.counters.delete(this.counters.keys().next().value)}};var ACCESS_MODES=["disabled","anonymous","authenticated"];function parseAccessMode(text2,where){if(ACCESS_MODES.includes(text2))return text2;throw new HelperError("usage",`${where}: ${JSON.stringify(text2)} is not one of ${ACCESS_MODES.join(", ")}`)}function globToRegExp(glob){let re="";for(let i=0;i<glob.length;i++){let c=glob[i];if(c==="*"&&glob[i+1]==="*"){let segmentStart=i===0||glob[i-1]==="/",segmentEnd=i+2===glob.length||glob[i+2]==="/";segmentStart&&segmentEnd&&i>0?re=`${re.slice(0,-1)}(?:/.*)?`:segmentStart&&segmentEnd&&i+2<glob.length?(re+="(?:.*/)?",i++):re+=".*",i++}else c==="*"?re+="[^/]*":c==="?"?re+="[^/]":re+=c.replace(/[.+^${}()|[\]\\]/g,"\\$&")}return new RegExp(`^${re}$`)}function rightFor(action){if(action==="push"||action==="delete")return"push";if(action!=="ping")return"pull"}function needsLogin(p){return p.pull==="authenticated"||p.push==="authenticated"||p.rules.some(r=>r.pull!==void 0||r.push!==void 0)}function decide(p,action,repository,who){let right=rightFor(action);if(right===void 0)return who.kind==="anonymous"&&needsLogin(p)?"login":"allow";let mode=p[right];if(mode==="disabled")return"disabled";let users=(repository===void 0?void 0:p.rules.find(r=>r[right]!==void 0&&r.regex.test(repository)))?.[right];return users?who.kind==="anonymous"?"login":users.includes("*")||users.includes(who.name)?"allow":"forbidden":mode==="authenticated"&&who.kind==="anonymous"?"login":"allow"}function userList(v,where){if(!Array.isArray(v)||!v.every(x=>typeof x=="string"&&x.length>0))throw new HelperError("access-config",`${where} must be a list of user names, as ["alice", "ci"]`);return v}function parseAccessConfig(text2,file,defaults){let doc;try{doc=parse(text2)}catch(err){let first=String(err.message).split(`
`)[0];throw new HelperError("access-config",`${file}: ${first}`)}let policy={...defaults,rules:[]};for(let[key,value]of Object.entries(doc))if(key==="pull"||key==="push"){if(typeof value!="string")throw new HelperError("access-config",`${file}: ${key} must be a string`);policy[key]=parseAccessMode(value,`${file}: ${key}`)}else if(key==="repository"){if(!Array.isArray(value))throw new HelperError("access-config",`${file}: write rules as [[repository]] tables`);value.forEach((raw,i)=>{let where=`${file}: repository #${i+1}`,r=raw;for(let k of Object.keys(r))if(!["match","pull","push"].includes(k))throw new HelperError("access-config",`${where}: unknown key ${JSON.stringify(k)}`);if(typeof r.match!="string"||r.match==="")throw new HelperError("access-config",`${where}: match must be a repository glob`);let rule={match:r.match,regex:globToRegExp(r.match)};r.pull!==void 0&&(rule.pull=userList(r.pull,`${where}: pull`)),r.push!==void 0&&(rule.push=userList(r.push,`${where}: push`)),policy.rules.push(rule)})}else throw new HelperError("access-config",`${file}: unknown key ${JSON.stringify(key)} (known: pull, push, [[repository]])`);return policy}function guardProcess(log=serverLog){process.stdout.on("error",()=>{}),process.stderr.on("error",()=>{}),process.on("uncaughtException",err=>log(`internal error (still serving): ${err?.stack??String(err)}`)),process.on("unhandledRejection",reason=>log(`internal error (still serving): ${reason?.stack??String(reason)}`))}import{setFlagsFromString}from"node:v8";function tuneHeapForStreaming(){setFlagsFromString("--no-incremental-marking")}import{availableParallelism}from"node:os";var MAX_DEFAULT_WORKERS=4;function defaultWorkers(cpus=availableParallelism()){return Math.max(1,Math.min(MAX_DEFAULT_WORKERS,Math.floor(cpus/2)))}var WORKER_ENV={slot:"CR_WORKER_SLOT",count:"CR_WORKER_COUNT",instance:"CR_INSTANCE_ID"};function isOurs(message){return typeof message=="object"&&message!==null&&typeof message.cr=="string"}import{unlink,writeFile}from"node:fs/promises";import{join}from"node:path";import{randomBytes as randomBytes3}from"node:crypto";import cluster from"node:cluster";import{createHmac,randomBytes as randomBytes2}from"node:crypto";import{readFile as readFile2,stat}from"node:fs/promises";function parseAuthorization(header){if(header===void 0||header.trim()==="")return{kind:"none"};let m=/^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);if(!m)return{kind:"invalid"};let decoded=Buffer.from(m[1],"base64").toString("utf8"),i=decoded.indexOf(":");if(i<0)return{kind:"invalid"};let user=decoded.slice(0,i),password=decoded.slice(i+1);return user===""&&password===""?{kind:"none"}:{kind:"basic",user,password}}function basicChallenge(realm){return`Basic realm="${realm.replace(/["\\]/g,"")}", charset="UTF-8"`}var VerifyQueueFull=class extends HelperError{constructor(){super("verify-queue-full","too many password checks are waiting"),this.name="VerifyQueueFull"}};async function defaultPoolSize(){let{availableParallelism:availableParallelism2}=await import("node:os");return Math.max(1,Math.min(4,availableParallelism2()-1))}var VerifyPool=class{idle=[];busy=new Map;waiting=[];starting=0;nextId=1;size;maxWaiting;runtime;constructor(o={}){this.size=o.size,this.maxWaiting=o.maxWaiting??(o.size!==void 0?16*o.size:void 0)}async verify(password,hash){let valid=hash!==void 0&&isBcryptHash(hash),ok=await this.compare(password,valid?hash:DUMMY_HASH);return valid&&ok}compare(password,hash){return this.waiting.length>=(this.maxWaiting??16)?Promise.reject(new VerifyQueueFull):new Promise((resolve2,reject)=>{this.waiting.push({task:{id:this.nextId++,password,hash},resolve:resolve2,reject}),this.pump()})}load(){return this.runtime??=(async()=>{let[{Worker},{verifyWorkerSource},size]=await Promise.all([import("node:worker_threads"),import("./verify-worker-source-7GMQCH53.mjs"),this.size??defaultPoolSize()]);return this.size=size,this.maxWaiting??=16*size,{Worker,source:await verifyWorkerSource()}})()}pump(){for(;this.waiting.length>0&&this.idle.length>0;)this.assign(this.idle.pop(),this.waiting.shift());let threads=this.idle.length+this.busy.size+this.starting;this.waiting.length>this.starting&&(this.size===void 0?threads===0:threads<this.size)&&(this.starting++,this.start().then(w=>{this.starting--,this.idle.push(w),this.pump()},err=>{if(this.starting--,this.idle.length+this.busy.size+this.starting===0)for(let job of this.waiting.splice(0))job.reject(err)}))}async start(){let{Worker,source}=await this.load(),w=new Worker(source,{eval:!0,env:{},execArgv:[]});w.unref(),w.on("message",result=>{let job=this.busy.get(w);!job||job.task.id!==result.id||(this.busy.delete(w),w.unref(),job.resolve(result.ok&&result.error===void 0),this.idle.push(w),this.pump())});let lost=err=>{let job=this.busy.get(w);this.busy.delete(w);let i=this.idle.indexOf(w);i>=0&&this.idle.splice(i,1),job?.reject(err),this.pump()};return w.on("error",lost),w.on("exit",code=>lost(new Error(`a password-check thread exited (code ${code})`))),w}assign(w,job){this.busy.set(w,job),w.ref(),w.postMessage(job.task)}};var DEFAULT_REALM="container-registry",FileWatch=class{constructor(path,parse2,initial,warn){this.path=path;this.parse=parse2;this.warn=warn;this.value=initial}path;parse;warn;stamp;value;async get(){let stamp="missing";try{let st=await stat(this.path);stamp=`${st.ino}:${st.size}:${st.mtimeMs}`}catch{}if(stamp===this.stamp)return this.value;try{let text2=stamp==="missing"?void 0:await readFile2(this.path,"utf8");this.value=this.parse(text2),this.stamp=stamp}catch(err){this.stamp!==`bad:${stamp}`&&this.warn(`container-registry: ${this.path}: keeping the previous settings: ${err.message}`),this.stamp=`bad:${stamp}`}return this.value}async load(){let stamp="missing",text2;try{let st=await stat(this.path);stamp=`${st.ino}:${st.size}:${st.mtimeMs}`,text2=await readFile2(this.path,"utf8")}catch(err){if(err.code!=="ENOENT")throw err}return this.value=this.parse(text2),this.stamp=stamp,this.value}},ExpiringSet=class{constructor(ttlMs,max,now=Date.now){this.ttlMs=ttlMs;this.max=max;this.now=now}ttlMs;max;now;until=new Map;has(key){let t=this.until.get(key);return t===void 0?!1:t>this.now()?!0:(this.until.delete(key),!1)}add(key){this.until.delete(key),this.until.set(key,this.now()+this.ttlMs),this.until.size>this.max&&this.until.delete(this.until.keys().next().value)}},HtpasswdAccessController=class{constructor(o){this.o=o;let paths=StateDir.of(o.storageDir),warn=o.warn??(line=>process.stderr.write(`${line}
`));this.users=new FileWatch(paths.htpasswd(),t=>new Map(parseHtpasswd(t??"").map(e=>[e.user,e.hash])),new Map,warn);let file=paths.accessConfig(),build=t=>({...t===void 0?{...o.defaults,rules:[]}:parseAccessConfig(t,file,o.defaults),...definedOnly(o.overrides??{})});this.policyFile=new FileWatch(file,build,build(void 0),warn),this.limiter=o.shared??new FailureLimiter(o.limiter),this.macKey=o.shared?.credentialKey??randomBytes2(32),this.pool=new VerifyPool(o.verifier),this.verified=new ExpiringSet(o.verifiedTtlMs??5*6e4,1e3),this.challenge=basicChallenge(o.realm??DEFAULT_REALM),o.shared?.onVerified(key=>this.verified.add(key))}o;users;policyFile;limiter;pool;challenge;macKey;verified;rejected=new ExpiringSet(60*6e4,1e4);pending=new Map;policy(){return this.policyFile.get()}async load(){return await this.users.get(),this.policyFile.load()}key(user,hash,password){return createHmac("sha256",this.macKey).update(JSON.stringify([user,hash??"",password]),"utf8").digest("base64")}async login(user,password,address){let hash=(await this.users.get()).get(user),key=this.key(user,hash,password);if(this.verified.has(key))return{kind:"ok"};if(this.rejected.has(key))return{kind:"wrong"};let pending=this.pending.get(key);return pending||(pending=this.compare(key,user,hash,password,address).finally(()=>this.pending.delete(key)),this.pending.set(key,pending)),pending}async compare(key,user,hash,password,address){let admission=await this.limiter.begin(address,user);if(!admission.admitted)return{kind:"wait",retryAfter:admission.retryAfter,message:"too many failed logins; wait and retry"};let ok;try{ok=await this.pool.verify(password,hash)}catch(err){if(admission.attempt.abandoned(),err instanceof VerifyQueueFull)return{kind:"wait",retryAfter:1,message:"too many logins are being checked; wait and retry"};throw err}return ok?(admission.attempt.succeeded(),this.verified.add(key),this.o.shared?.verified(key),{kind:"ok"}):(admission.attempt.failed(),this.rejected.add(key),{kind:"wrong"})}unauthorized(message){return{allowed:!1,status:401,user:void 0,challenge:this.challenge,message}}async check(req){let policy=await this.policy(),who={kind:"anonymous"};if(this.o.verifyCredentials){let creds=parseAuthorization(req.authorization);if(creds.kind==="invalid")return this.unauthorized("unsupported Authorization header; this registry takes Basic credentials");if(creds.kind==="basic"){let outcome=await this.login(creds.user,creds.password,req.remoteAddress);if(outcome.kind==="wait")return{allowed:!1,status:429,user:void 0,retryAfter:outcome.retryAfter,message:outcome.message};if(outcome.kind==="wrong")return this.unauthorized("invalid username or password");who={kind:"user",name:creds.user}}}let user=who.kind==="user"?who.name:void 0;switch(decide(policy,req.action,req.repository,who)){case"allow":return{allowed:!0,user};case"login":return this.unauthorized("authentication required");case"disabled":return{allowed:!1,status:403,user,message:`${req.action==="push"||req.action==="delete"?"pushing":"pulling"} is disabled on this registry`};case"forbidden":return{allowed:!1,status:403,user,message:`user ${user} may not ${req.action} ${req.repository??""}`.trim()}}}};function definedOnly(o){return Object.fromEntries(Object.entries(o).filter(([,v])=>v!==void 0))}async function resolveSecureMode(env,flags,storageDir,o={}){let secure=flags.tls===!0||readBoolean(env,"CONTAINER_REGISTRY_SECURE");if(secure&&readBoolean(env,"CONTAINER_REGISTRY_INSECURE"))throw new HelperError("config-conflict",`${flags.tls?"--tls":"CONTAINER_REGISTRY_SECURE=1"} and CONTAINER_REGISTRY_INSECURE=1 exclude each other; unset one of them`);if((flags.auth===!0||readBoolean(env,"CONTAINER_REGISTRY_AUTH"))&&!secure)throw new HelperError("auth-needs-tls","authentication needs HTTPS (Basic credentials over plain HTTP can be read on the way): add --tls or CONTAINER_REGISTRY_SECURE=1");let state=StateDir.of(storageDir),mode=secure?"authenticated":"anonymous",controller=new HtpasswdAccessController({storageDir:state,defaults:{pull:mode,push:mode},overrides:{pull:flags.pull,push:flags.push},verifyCredentials:secure,warn:o.warn,...o.logins?{shared:o.logins}:{}}),policy=await controller.load(),notes=[];if(!secure){if(needsLogin(policy))throw new HelperError("auth-needs-tls",`the access policy asks for logins (${state.accessConfig()} or --pull/--push), which needs HTTPS: add --tls or CONTAINER_REGISTRY_SECURE=1`);let open=policy.pull==="anonymous"&&policy.push==="anonymous";return{secure:!1,tls:void 0,access:open?ALLOW_ALL:controller,notes:open?[]:[`access: pull ${policy.pull}, push ${policy.push}`]}}let{ensurePki}=await import("./pki-G7NXXLYK.mjs"),pki=await ensurePki({storageDir:state,...pkiSettingsFromEnv(env,o.hostname)});pki.caCreated&&notes.push(`created a CA: clients trust ${pki.files.clientCaCert}`),pki.serverIssued&&!pki.caCreated&&notes.push(`issued a new server certificate (${pki.serverIssued})`),notes.push(...pki.warnings);let user=await ensureDefaultUser(state,env);return user.action!=="kept"&&notes.push(`${user.action} user ${user.user}; its password is in ${user.passwordFile}`),notes.push(`access: pull ${policy.pull}, push ${policy.push}${policy.rules.length?`, ${policy.rules.length} repository rule(s)`:""}`),{secure:!0,tls:{certFile:state.serverCert(),keyFile:state.serverKey()},access:controller,notes}}import{existsSync}from"node:fs";async function resolveServiceOptions(c,state,config,env=process.env){if(!METRICS_ACCESS_MODES.includes(c.metricsAccess))throw new HelperError("usage",`--metrics-access must be one of ${METRICS_ACCESS_MODES.join(", ")}`);if(c.mdns)try{mdnsHostLabel(c.mdnsName)}catch(err){throw new HelperError("usage",err.message)}let notifications=loadNotifications(config,env),htpasswd=state.htpasswd();return{ui:c.ui,metricsAccess:c.metricsAccess,minFreeBytes:Math.max(0,c.minFreeMib)*1024*1024,...existsSync(htpasswd)?{htpasswdFile:htpasswd}:{},notifications,...c.mdns?{mdns:{name:c.mdnsName,interfaces:c.mdnsInterfaces}}:{}}}import{dirname,isAbsolute,resolve}from"node:path";var DEFAULT_TIMEOUT_MS=2e4,KEYS=new Set(["host","url","prefix","ttl","timeout","auth","authfile","credsfile","credential_helper","username","password","token"]),AUTH=["none","authfile","credsfile","env","basic","token"];function text(table,key,where){let v=table[key];if(v!==void 0){if(typeof v!="string"||v==="")throw new ConfigError(`${where}: ${key} must be a non-empty string`);return v}}function credentialsOf(t,host,where,base2,env){let path=key=>{let p=text(t,key,where);return p===void 0?void 0:isAbsolute(p)?p:resolve(base2,p)},username=text(t,"username",where),password=text(t,"password",where),token=text(t,"token",where),helper=text(t,"credential_helper",where),authfile=path("authfile"),credsfile=path("credsfile"),auth=text(t,"auth",where);if(auth??=token?"token":username||password?"basic":authfile?"authfile":credsfile?"credsfile":helper?"helper":"none",auth==="helper"){if(!/^[A-Za-z0-9._-]+$/.test(helper))throw new ConfigError(`${where}: credential_helper must be a helper's name (docker-credential-<name>)`);return{auth:`credential helper ${helper}`,credentials:()=>runCredentialHelper(helper,host)}}if(!AUTH.includes(auth))throw new ConfigError(`${where}: auth must be one of ${AUTH.join(", ")}`);switch(auth){case"none":return{auth,credentials:async()=>{}};case"basic":{if(!username||password===void 0)throw new ConfigError(`${where}: auth = "basic" needs username and password`);let cred={kind:"basic",username,password};return{auth,credentials:async()=>cred}}case"token":{if(!token)throw new ConfigError(`${where}: auth = "token" needs token`);let cred={kind:"token",token,...username?{username}:{}};return{auth,credentials:async()=>cred}}case"authfile":{if(!authfile)throw new ConfigError(`${where}: auth = "authfile" needs authfile`);let source=credentialSource({mode:"authfile",authfile,env});return{auth,credentials:()=>source(host)}}case"credsfile":{if(!credsfile)throw new ConfigError(`${where}: auth = "credsfile" needs credsfile`);let source=credentialSource({mode:"credsfile",credsfile,env});return{auth,credentials:()=>source(host)}}default:try{let source=credentialSource({mode:"env",env});return{auth,credentials:()=>source(host)}}catch(err){throw new ConfigError(`${where}: ${err.message}`)}}}function parseUpstreamTables(textOfFile,source,base2,env=process.env){let doc;try{doc=parse(textOfFile)}catch(err){let line=err.line;throw new ConfigError(`${source}: not valid TOML${typeof line=="number"?` (line ${line})`:""}`)}let cache=doc.cache;if(cache===void 0)return[];if(typeof cache!="object"||cache===null||Array.isArray(cache))throw new ConfigError(`${source}: cache must be a table`);let list=cache.upstreams;if(list===void 0)return[];if(!Array.isArray(list))throw new ConfigError(`${source}: cache.upstreams must be an array of tables ([[cache.upstreams]])`);return list.map((raw,i)=>{let where=`${source}: cache.upstreams[${i}]`;if(typeof raw!="object"||raw===null||Array.isArray(raw))throw new ConfigError(`${where} must be a table`);let t=raw;for(let k of Object.keys(t))if(!KEYS.has(k))throw new ConfigError(`${where}: unknown key ${JSON.stringify(k.slice(0,40))}`);let hostText=text(t,"host",where);if(!hostText)throw new ConfigError(`${where}: host is required (the registry as clients name it: docker.io, localhost:5001)`);let spec;try{spec=parseMirror(hostText)}catch(err){throw new ConfigError(`${where}: host: ${err.message}`)}let url=text(t,"url",where);if(url!==void 0)try{parseMirror(`${spec.host}=${url}`)}catch(err){throw new ConfigError(`${where}: url: ${err.message.replace(/^CONTAINER_REGISTRY_MIRRORS: /,"")}`)}let prefix=text(t,"prefix",where);if(prefix!==void 0&&!isValidRepositoryName(prefix))throw new ConfigError(`${where}: prefix ${JSON.stringify(prefix.slice(0,80))} is not a repository name`);let duration=key=>{let value=text(t,key,where);try{return value===void 0?void 0:parseDuration(`${where}: ${key}`,value)}catch(err){throw new ConfigError(err.message)}},ttlMs=duration("ttl"),timeoutMs=duration("timeout");return{host:spec.host,url,prefix,ttlMs,timeoutMs,...credentialsOf(t,spec.host,where,base2,env)}})}function mergeUpstreams(mirrors,tables,defaultTtlMs){let none={auth:"none",credentials:async()=>{},timeoutMs:DEFAULT_TIMEOUT_MS},out=mirrors.map(m=>({...m,ttlMs:defaultTtlMs,...none}));for(let t of tables){let u=out.find(o=>o.host===t.host);if(!u)u={...parseMirror(t.url?`${t.host}=${t.url}`:t.host),ttlMs:defaultTtlMs,...none},out.push(u);else if(tables.filter(x=>x.host===t.host).length>1)throw new ConfigError(`config.toml: cache.upstreams names ${t.host} twice`);t.prefix&&(u.prefix=t.prefix),t.ttlMs!==void 0&&(u.ttlMs=t.ttlMs),t.timeoutMs!==void 0&&(u.timeoutMs=t.timeoutMs),u.auth=t.auth,u.credentials=t.credentials}for(let a of out)for(let b of out)if(a!==b&&(a.prefix===b.prefix||b.prefix.startsWith(`${a.prefix}/`)))throw new ConfigError(`the cache prefixes of ${a.host} (${a.prefix}) and ${b.host} (${b.prefix}) overlap`);return out}function loadUpstreams(config,choices,env=process.env){let mirrors;try{mirrors=parseMirrors(choices.mirrors)}catch(err){throw err instanceof AddressError?new ConfigError(err.message):err}let ttlMs;try{ttlMs=parseDuration("CONTAINER_REGISTRY_CACHE_TTL (--cache-ttl)",choices.ttl)}catch(err){throw new ConfigError(err.message)}let tables=config.text===void 0?[]:parseUpstreamTables(config.text,config.file,dirname(config.file),env);return mergeUpstreams(mirrors,tables,ttlMs)}function mirrorItems(value){return(Array.isArray(value)?value:value===void 0?[]:[value]).flatMap(v=>String(v).split(/[,\s]+/)).filter(Boolean)}function diskFullHint(err){return isNoSpace(err)?": the disk is full; free space and start again":""}async function checkStorageWritable(dir){let probe=join(dir,`.write-test-${process.pid}`);try{await makeDirs(dir),await writeFile(probe,Buffer.alloc(16*1024),{flush:!0}),await unlink(probe)}catch(err){await unlink(probe).catch(()=>{});let code=err.code??"error";throw new HelperError("storage",`cannot write the storage directory ${dir} (${code})${diskFullHint(err)}`)}}function listenError(err,host,port){let code=err.code;return code==="EADDRINUSE"?new HelperError("port-in-use",`${host}:${port} is already in use (another registry? try \`container-registry status\` or --listen)`):code==="EACCES"?new HelperError("port-denied",`not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`):code==="EADDRNOTAVAIL"||code==="ENOTFOUND"||code==="EAI_AGAIN"?new HelperError("bad-address",`cannot listen on ${host}:${port}: no such local address`):new HelperError("listen",`cannot listen on ${host}:${port}: ${err.message}`)}function clientUrls(serverUrl,host,port){let scheme=serverUrl.startsWith("https:")?"https":"http",hosts=listenNames(host).hosts;return hosts.length?hosts.map(h=>`${scheme}://${h.includes(":")?`[${h}]`:h}:${port}`):[serverUrl]}async function composeServer(c,o={}){let env=c.env??process.env;await checkStorageWritable(c.state.dir);let certSan=rawSetting(env,"CONTAINER_REGISTRY_CERT_SAN");c.services.mdns&&(certSan=withMdnsSan(certSan,c.services.mdnsName));let listenSans=listenNames(c.host).sans.map(formatSan);listenSans.length&&(certSan=[certSan,...listenSans].filter(Boolean).join(","));let pkiEnv=certSan===rawSetting(env,"CONTAINER_REGISTRY_CERT_SAN")?env:{...env,CONTAINER_REGISTRY_CERT_SAN:certSan},secure=await resolveSecureMode(pkiEnv,c.secure,c.state,{logins:o.logins}),serverConfig=await readServerConfig(c.state);return{options:{state:c.state,host:c.host,port:c.port,tls:secure.tls,access:secure.access,accessLog:entry=>writeLine(JSON.stringify(entry)),services:await resolveServiceOptions(c.services,c.state,serverConfig,env),...c.cache?{cache:{upstreams:loadUpstreams(serverConfig,c.cache,env)}}:{},...c.readOnly?{readOnly:!0}:{}},notes:c.readOnly?[...secure.notes,"read-only: pushes, deletes and uploads are refused (405 UNSUPPORTED)"]:secure.notes}}async function runServer(c,say){if(cluster.isWorker)return(await import("./cluster-worker-YLGA52A4.mjs")).runWorker(c,say);let holder=instanceOnPort(c.host,c.port);if(holder)throw portUsedByUs(holder);if((c.workers??1)>1)return(await import("./cluster-VSJ4GR7G.mjs")).runPrimary(c,say);tuneHeapForStreaming();let{options,notes}=await composeServer(c);for(let note of notes)say(note);let instanceId=randomBytes3(8).toString("hex"),running;try{running=await startRegistry({...options,instanceId})}catch(err){throw listenFailure(err,c)}await holdInstance(c,say,{url:running.url,host:running.host,port:running.port,tls:options.tls!==void 0,instanceId},ms=>running.close(ms),()=>running.services.storageChanged())}function listenFailure(err,c){let ours=err.code==="EADDRINUSE"?instanceOnPort(c.host,c.port):void 0;return ours?portUsedByUs(ours):listenError(err,c.host,c.port)}async function holdInstance(c,say,at,close,storageChanged){let urls=clientUrls(at.url,c.host,at.port),pidFile=c.state.pidFile(),record;try{record=await writePidFile(pidFile,{instance:at.instanceId,url:urls[0],host:at.host,port:at.port,tls:at.tls,...c.readOnly?{readOnly:!0}:{}})}catch(err){await close(0);let code=err.code??"error";throw new HelperError("storage",`cannot write the PID file ${pidFile} (${code})${diskFullHint(err)}`)}await writeInstanceRecord(record,c.state.dir).catch(err=>say(`warning: cannot record this registry in ${instancesDir()} (${err.message}): status and stop need --storage ${c.state.dir}`)),guardProcess();let workers=at.workers?`, ${at.workers} workers`:"",from=c.state.objectStore?`${formatObjectStoreUrl(c.state.objectStore)} (local state ${c.state.dir})`:c.state.dir;say(`serving ${urls[0]} from ${from} (pid ${process.pid}${workers})`),urls.length>1&&say(`also reachable as ${urls.slice(1).join(", ")}`);let backups=c.backup?new(await import("./schedule-P63LL667.mjs")).ScheduledBackups(c.backup,c.state,say):void 0;backups?.start();let stopListening=c.readOnly&&storageChanged?onStorageChanged(storageChanged):void 0;await new Promise(resolve2=>{let stopping=!1,stop=signal=>{stopping||(stopping=!0,backups?.stop(),say(`${signal}: draining in-flight requests`),close(c.drainTimeoutMs).then(resolve2))};process.once("SIGTERM",()=>stop("SIGTERM")),process.once("SIGINT",()=>stop("SIGINT"))}),stopListening?.(),await removePidFileIfOurs(pidFile,process.pid),removeInstanceRecord(record),say("stopped")}export{INSTANCE_HEADER,startRegistry,FailureLimiter,ACCESS_MODES,guardProcess,tuneHeapForStreaming,mirrorItems,MAX_DEFAULT_WORKERS,defaultWorkers,WORKER_ENV,isOurs,composeServer,runServer,listenFailure,holdInstance};
