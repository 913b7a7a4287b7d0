package org.lethe.data;

import java.util.List;

/** Refusal answers ("I don't know") for the idk, dpo and ap terms when a dataset ships none. */
public final class Refusals {

    private Refusals() {}

    /** Lethe's own refusal sentences (also written as the fictitious benchmark's idontknow.jsonl). */
    public static List<String> builtIn() {
        return FictionPools.REFUSALS;
    }
}
