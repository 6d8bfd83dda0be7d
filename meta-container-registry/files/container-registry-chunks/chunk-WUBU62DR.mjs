function humanBytes(bytes){let units=["B","KiB","MiB","GiB","TiB"],v=bytes,i=0;for(;v>=1024&&i<units.length-1;)v/=1024,i++;return`${i===0?v:v.toFixed(1)} ${units[i]}`}export{humanBytes};
