package org.advmia.backend;

/**
 * @param systemAllocations how many times memory was requested from the system (pool misses)
 * @param bytesInUse bytes handed out to live storages
 * @param bytesCached bytes held in the pool for reuse
 */
public record AllocatorStats(long systemAllocations, long bytesInUse, long bytesCached) {}
