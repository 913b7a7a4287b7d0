package org.lethe.jobs;

import org.lethe.config.LetheConfig;
import org.lethe.model.ModelSettings;

/** Model settings from the resolved config ({@code lethe.model.*}). */
final class Models {

    private Models() {}

    static ModelSettings settings(LetheConfig config) {
        return new ModelSettings(config.modelDevice(), config.modelDtype(), config.modelThreads());
    }
}
