package org.advmia.backend;

public enum PoolKind {
    MAX, AVG, ADAPTIVE_AVG;

    public int code() {
        return ordinal();
    }
}
