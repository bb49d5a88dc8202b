package org.advmia.data;

/**
 * What a dataset's labels mean. The label tensor of a batch of N samples is
 * <ul>
 *   <li>CLASSIFICATION: [N] class indices (stored as floats);</li>
 *   <li>MULTILABEL: [N, classes] of 0/1 (e.g. ChestMNIST's 14 findings);</li>
 *   <li>SEGMENTATION: [N, H, W] class indices per pixel.</li>
 * </ul>
 */
public enum Task { CLASSIFICATION, MULTILABEL, SEGMENTATION }
