package org.lethe.store;

/** The state of one job of one run, as recorded in the {@code runs} table. */
public enum RunStatus {
    RUNNING,
    SUCCEEDED,
    FAILED
}
