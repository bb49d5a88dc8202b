package org.advmia.cli;

import org.advmia.data.DatasetInfo;
import org.advmia.data.Task;
import org.advmia.nn.Init;
import org.advmia.nn.Model;
import org.advmia.nn.models.Models;

/** Builds a registered model for a dataset, checking that the model suits the dataset's task. */
final class ModelBuilder {
    private ModelBuilder() {}

    static Model forData(String name, DatasetInfo info, long seed) {
        Model m = Models.create(name, new Models.Spec(info.channels(), info.classes(), info.height(), info.width()),
                Init.seeded(seed));
        boolean segData = info.task() == Task.SEGMENTATION, segModel = m.task() == Model.Task.SEGMENTATION;
        if (segData != segModel) {
            m.close();
            throw new IllegalArgumentException("--model " + name + " is a " + (segModel ? "segmentation" : "classification")
                    + " model but --data " + info.name() + " is a " + info.task().name().toLowerCase() + " dataset");
        }
        return m;
    }
}
