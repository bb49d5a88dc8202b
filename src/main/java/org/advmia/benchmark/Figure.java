package org.advmia.benchmark;

import java.nio.file.Path;

/**
 * A picture the benchmark wrote (PNG or SVG) under the results folder. kind is one of
 * "eps-curve", "adversarial-grid", "gradcam", "segmentation-masks". file is relative to the
 * results folder, so the report can link it and the HTML report can inline it.
 */
public record Figure(String kind, String title, String caption, Path file) {}
