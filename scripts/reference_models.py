"""Canonical PyTorch reference definitions of the models implemented by the advmia Java engine.

The module / parameter names here ARE the state_dict names that the Java engine mirrors exactly
(see docs/MODELS.md for the full specification). Every model takes ``in_channels`` and
``num_classes``; all of them work for any reasonable input size.

Conventions shared by all models:
  * NCHW layout; conv weights [out, in/groups, kH, kW]; ConvTranspose2d weights [in, out, kH, kW];
    Linear weights [out, in].
  * BatchNorm2d with PyTorch defaults: eps=1e-5, momentum=0.1, affine, track_running_stats.
  * All pooling uses floor mode (ceil_mode=False).
  * No interpolation/upsampling by resize anywhere (UNet uses ConvTranspose2d, SegNet MaxUnpool2d).

Only torch / torch.nn are used; no torchvision.models import, so names and structure are explicit.
"""

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "SmallCNN", "ResNet18", "PreActResNet18", "MobileNetV2", "WideResNet", "DenseNet121",
    "UNet", "SegNet", "make_divisible",
]


# --------------------------------------------------------------------------------------------
# SmallCNN
# --------------------------------------------------------------------------------------------
class SmallCNN(nn.Module):
    """4 conv (3x3, no padding, bias) + 2 max-pools, then a 3-layer MLP (TRADES-style small CNN)."""

    def __init__(self, in_channels=1, num_classes=10, input_height=28, input_width=28):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3),  # 0
            nn.ReLU(),                      # 1
            nn.Conv2d(32, 32, 3),           # 2
            nn.ReLU(),                      # 3
            nn.MaxPool2d(2),                # 4
            nn.Conv2d(32, 64, 3),           # 5
            nn.ReLU(),                      # 6
            nn.Conv2d(64, 64, 3),           # 7
            nn.ReLU(),                      # 8
            nn.MaxPool2d(2),                # 9
        )
        fh, fw = SmallCNN.feature_size(input_height, input_width)
        if fh < 1 or fw < 1:
            raise ValueError("input %dx%d too small for SmallCNN" % (input_height, input_width))
        self.classifier = nn.Sequential(
            nn.Linear(64 * fh * fw, 200),   # 0
            nn.ReLU(),                      # 1
            nn.Dropout(0.5),                # 2
            nn.Linear(200, 200),            # 3
            nn.ReLU(),                      # 4
            nn.Linear(200, num_classes),    # 5
        )

    @staticmethod
    def feature_size(h, w):
        """Spatial size after `features`: ((s - 4) // 2 - 4) // 2 (valid convs, floor pools)."""
        return ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)  # NCHW flatten: index = c*fh*fw + y*fw + x
        return self.classifier(x)


# --------------------------------------------------------------------------------------------
# ResNet18 (CIFAR stem, torchvision naming)
# --------------------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),  # downsample.0
                nn.BatchNorm2d(planes),                                       # downsample.1
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        chans = [width, 2 * width, 4 * width, 8 * width]
        strides = [1, 2, 2, 2]
        in_planes = width
        for i in range(4):
            blocks = nn.Sequential(
                BasicBlock(in_planes, chans[i], strides[i]),
                BasicBlock(chans[i], chans[i], 1),
            )
            setattr(self, "layer%d" % (i + 1), blocks)
            in_planes = chans[i]
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8 * width, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# --------------------------------------------------------------------------------------------
# PreActResNet18
# --------------------------------------------------------------------------------------------
class PreActBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False),  # shortcut.0
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet18(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, width=64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, width, 3, stride=1, padding=1, bias=False)
        chans = [width, 2 * width, 4 * width, 8 * width]
        strides = [1, 2, 2, 2]
        in_planes = width
        for i in range(4):
            blocks = nn.Sequential(
                PreActBlock(in_planes, chans[i], strides[i]),
                PreActBlock(chans[i], chans[i], 1),
            )
            setattr(self, "layer%d" % (i + 1), blocks)
            in_planes = chans[i]
        self.bn = nn.BatchNorm2d(8 * width)
        self.linear = nn.Linear(8 * width, num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.relu(self.bn(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.linear(x)


# --------------------------------------------------------------------------------------------
# MobileNetV2 (torchvision naming, CIFAR strides)
# --------------------------------------------------------------------------------------------
def make_divisible(v, divisor=8, min_value=None):
    """torchvision's _make_divisible: round to nearest multiple of divisor, never < 90% of v."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvBNReLU6(nn.Sequential):
    """Sequential(0: Conv2d(no bias, padding (k-1)//2), 1: BatchNorm2d, 2: ReLU6)."""

    def __init__(self, in_planes, out_planes, kernel_size=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(in_planes, out_planes, kernel_size, stride, (kernel_size - 1) // 2,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_planes),
            nn.ReLU6(),
        )


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(inp, hidden_dim, kernel_size=1))                  # expand
        layers.append(ConvBNReLU6(hidden_dim, hidden_dim, 3, stride, groups=hidden_dim))  # dw
        layers.append(nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False))                  # project
        layers.append(nn.BatchNorm2d(oup))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    # t (expansion), c (output channels before width_mult), n (repeats), s (stride of first block)
    # CIFAR variant: second row stride 1 (torchvision: 2), stem stride 1 (torchvision: 2).
    SETTINGS = [
        [1, 16, 1, 1],
        [6, 24, 2, 1],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]

    def __init__(self, in_channels=3, num_classes=10, width_mult=1.0):
        super().__init__()
        input_channel = make_divisible(32 * width_mult, 8)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), 8)
        features = [ConvBNReLU6(in_channels, input_channel, 3, stride=1)]
        for t, c, n, s in MobileNetV2.SETTINGS:
            output_channel = make_divisible(c * width_mult, 8)
            for i in range(n):
                features.append(InvertedResidual(input_channel, output_channel,
                                                 s if i == 0 else 1, t))
                input_channel = output_channel
        features.append(ConvBNReLU6(input_channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2),                              # classifier.0
            nn.Linear(self.last_channel, num_classes),    # classifier.1
        )

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


# --------------------------------------------------------------------------------------------
# WideResNet (TRADES / Zagoruyko naming)
# --------------------------------------------------------------------------------------------
class WideBasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, stride=1, padding=1, bias=False)
        self.equal_in_out = in_planes == out_planes
        self.convShortcut = None
        if not self.equal_in_out:
            self.convShortcut = nn.Conv2d(in_planes, out_planes, 1, stride=stride, padding=0,
                                          bias=False)

    def forward(self, x):
        a = self.relu1(self.bn1(x))
        if self.equal_in_out:
            shortcut = x                     # raw input
        else:
            shortcut = self.convShortcut(a)  # pre-activated input
        out = self.relu2(self.bn2(self.conv1(a)))
        out = self.conv2(out)
        return shortcut + out


class WideNetworkBlock(nn.Module):
    def __init__(self, nb_layers, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[
            WideBasicBlock(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1)
            for i in range(nb_layers)
        ])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, depth=28, widen=10):
        super().__init__()
        if (depth - 4) % 6 != 0:
            raise ValueError("WideResNet depth must be 6n+4")
        n = (depth - 4) // 6
        ch = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(in_channels, ch[0], 3, stride=1, padding=1, bias=False)
        self.block1 = WideNetworkBlock(n, ch[0], ch[1], 1)
        self.block2 = WideNetworkBlock(n, ch[1], ch[2], 2)
        self.block3 = WideNetworkBlock(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3])
        self.relu = nn.ReLU()
        self.fc = nn.Linear(ch[3], num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.block3(self.block2(self.block1(x)))
        x = self.relu(self.bn1(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


# --------------------------------------------------------------------------------------------
# DenseNet121 (torchvision naming)
# --------------------------------------------------------------------------------------------
class DenseLayer(nn.Module):
    def __init__(self, num_input_features, growth_rate, bn_size):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(num_input_features)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(num_input_features, bn_size * growth_rate, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth_rate)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, 3, padding=1, bias=False)

    def forward(self, x):
        out = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(out)))


class DenseBlock(nn.ModuleDict):
    def __init__(self, num_layers, num_input_features, bn_size, growth_rate):
        super().__init__()
        for i in range(num_layers):
            self.add_module("denselayer%d" % (i + 1),
                            DenseLayer(num_input_features + i * growth_rate, growth_rate, bn_size))

    def forward(self, x):
        feats = [x]
        for _, layer in self.items():
            # each layer sees concat(channel dim) of [block input, new_1, ..., new_{i-1}]
            feats.append(layer(torch.cat(feats, 1)))
        return torch.cat(feats, 1)


class Transition(nn.Sequential):
    def __init__(self, num_input_features, num_output_features):
        super().__init__(OrderedDict([
            ("norm", nn.BatchNorm2d(num_input_features)),
            ("relu", nn.ReLU()),
            ("conv", nn.Conv2d(num_input_features, num_output_features, 1, bias=False)),
            ("pool", nn.AvgPool2d(2, stride=2)),
        ]))


class DenseNet121(nn.Module):
    def __init__(self, in_channels=3, num_classes=10, growth=32, blocks=(6, 12, 24, 16),
                 init_features=64, bn_size=4, stem="imagenet"):
        super().__init__()
        if stem == "imagenet":
            stem_layers = [
                ("conv0", nn.Conv2d(in_channels, init_features, 7, stride=2, padding=3, bias=False)),
                ("norm0", nn.BatchNorm2d(init_features)),
                ("relu0", nn.ReLU()),
                ("pool0", nn.MaxPool2d(3, stride=2, padding=1)),
            ]
        elif stem == "cifar":
            stem_layers = [
                ("conv0", nn.Conv2d(in_channels, init_features, 3, stride=1, padding=1, bias=False)),
                ("norm0", nn.BatchNorm2d(init_features)),
                ("relu0", nn.ReLU()),
            ]
        else:
            raise ValueError("stem must be 'imagenet' or 'cifar'")
        self.features = nn.Sequential(OrderedDict(stem_layers))
        num_features = init_features
        for i, num_layers in enumerate(blocks):
            self.features.add_module("denseblock%d" % (i + 1),
                                     DenseBlock(num_layers, num_features, bn_size, growth))
            num_features += num_layers * growth
            if i != len(blocks) - 1:
                self.features.add_module("transition%d" % (i + 1),
                                         Transition(num_features, num_features // 2))
                num_features //= 2
        self.features.add_module("norm5", nn.BatchNorm2d(num_features))
        self.num_features = num_features
        self.classifier = nn.Linear(num_features, num_classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


# --------------------------------------------------------------------------------------------
# UNet (bilinear=False)
# --------------------------------------------------------------------------------------------
class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.double_conv = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),   # 0
            nn.BatchNorm2d(out_channels),                                     # 1
            nn.ReLU(),                                                        # 2
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),  # 3
            nn.BatchNorm2d(out_channels),                                     # 4
            nn.ReLU(),                                                        # 5
        )

    def forward(self, x):
        return self.double_conv(x)


class Down(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(in_channels, out_channels))

    def forward(self, x):
        return self.maxpool_conv(x)


class Up(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x, skip):
        x = self.up(x)
        dy = skip.size(2) - x.size(2)
        dx = skip.size(3) - x.size(3)
        if dy != 0 or dx != 0:  # only for sizes not divisible by 16: zero-pad the upsampled map
            x = F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([skip, x], 1))


class OutConv(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, in_channels=1, num_classes=2, base=64):
        super().__init__()
        c = [base, 2 * base, 4 * base, 8 * base, 16 * base]
        self.inc = DoubleConv(in_channels, c[0])
        self.down1 = Down(c[0], c[1])
        self.down2 = Down(c[1], c[2])
        self.down3 = Down(c[2], c[3])
        self.down4 = Down(c[3], c[4])
        self.up1 = Up(c[4], c[3])
        self.up2 = Up(c[3], c[2])
        self.up3 = Up(c[2], c[1])
        self.up4 = Up(c[1], c[0])
        self.outc = OutConv(c[0], num_classes)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x4 = self.down3(x3)
        x5 = self.down4(x4)
        x = self.up1(x5, x4)
        x = self.up2(x, x3)
        x = self.up3(x, x2)
        x = self.up4(x, x1)
        return self.outc(x)


# --------------------------------------------------------------------------------------------
# SegNet (VGG16-BN encoder, max-unpooling decoder)
# --------------------------------------------------------------------------------------------
class ConvUnit(nn.Module):
    """conv3x3 (padding 1, bias) -> BN -> ReLU; with bn_relu=False just the conv."""

    def __init__(self, in_channels, out_channels, bn_relu=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True)
        self.bn = nn.BatchNorm2d(out_channels) if bn_relu else None

    def forward(self, x):
        x = self.conv(x)
        if self.bn is not None:
            x = F.relu(self.bn(x))
        return x


class SegNet(nn.Module):
    UNITS = [2, 2, 3, 3, 3]

    def __init__(self, in_channels=3, num_classes=3, base=64):
        super().__init__()
        ch = [base, 2 * base, 4 * base, 8 * base, 8 * base]
        self.encoder_channels = ch
        prev = in_channels
        for s in range(5):
            units = []
            for j in range(SegNet.UNITS[s]):
                units.append(ConvUnit(prev, ch[s]))
                prev = ch[s]
            setattr(self, "enc%d" % (s + 1), nn.ModuleList(units))
        for s in reversed(range(5)):  # dec5 ... dec1
            n = SegNet.UNITS[s]
            units = []
            for j in range(n):
                last = j == n - 1
                if not last:
                    units.append(ConvUnit(ch[s], ch[s]))
                elif s > 0:
                    units.append(ConvUnit(ch[s], ch[s - 1]))
                else:
                    units.append(ConvUnit(ch[s], num_classes, bn_relu=False))
            setattr(self, "dec%d" % (s + 1), nn.ModuleList(units))

    def forward(self, x):
        indices = []
        sizes = []
        for s in range(5):
            for unit in getattr(self, "enc%d" % (s + 1)):
                x = unit(x)
            sizes.append(x.shape[-2:])
            x, idx = F.max_pool2d(x, 2, 2, return_indices=True)
            indices.append(idx)
        for s in reversed(range(5)):
            x = F.max_unpool2d(x, indices[s], 2, 2, output_size=sizes[s])
            for unit in getattr(self, "dec%d" % (s + 1)):
                x = unit(x)
        return x


MODELS = {
    "smallcnn": SmallCNN,
    "resnet18": ResNet18,
    "preact_resnet18": PreActResNet18,
    "mobilenetv2": MobileNetV2,
    "wrn": WideResNet,
    "densenet121": DenseNet121,
    "unet": UNet,
    "segnet": SegNet,
}
