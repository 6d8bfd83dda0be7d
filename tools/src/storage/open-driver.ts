// openDriver picks the storage driver for a state directory: the filesystem, or (for an s3:// storage)
// the S3 driver, imported only then so that the SDK stays out of every other command's chunks.
import { FsDriver, type StorageDriver } from './driver.js';
import type { ObjectStoreLocation } from './object-store-url.js';

/** openDriver returns the driver for distribution's tree under `storageDir`, in `objectStore` when given. */
export async function openDriver(storageDir: string, objectStore?: ObjectStoreLocation): Promise<StorageDriver> {
  if (!objectStore) return new FsDriver();
  const { S3Driver } = await import('./s3-driver.js');
  return new S3Driver(storageDir, objectStore);
}
