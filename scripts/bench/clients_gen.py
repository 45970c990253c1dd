#!/usr/bin/python3
"""Writes a DescribeInstances response with N instances (EC2's real element names and a
realistic set of fields per instance) to the path given. Used by scripts/bench.d/40-clients.sh."""
import sys

N = int(sys.argv[2]) if len(sys.argv) > 2 else 1000

INSTANCE = """<item><instanceId>i-{i:017x}</instanceId><imageId>ami-0abcdef1234567890</imageId>
<instanceState><code>16</code><name>running</name></instanceState>
<privateDnsName>ip-10-0-{a}-{b}.eu-west-1.compute.internal</privateDnsName><dnsName>ec2-34-{a}-{b}-1.eu-west-1.compute.amazonaws.com</dnsName>
<reason/><keyName>ir-key</keyName><amiLaunchIndex>{i}</amiLaunchIndex><productCodes/><instanceType>m5.large</instanceType>
<launchTime>2024-01-02T03:04:05.000Z</launchTime><placement><availabilityZone>eu-west-1a</availabilityZone><groupName/><tenancy>default</tenancy></placement>
<monitoring><state>disabled</state></monitoring><subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0</vpcId>
<privateIpAddress>10.0.{a}.{b}</privateIpAddress><ipAddress>34.{a}.{b}.1</ipAddress><sourceDestCheck>true</sourceDestCheck>
<groupSet><item><groupId>sg-0123456789abcdef0</groupId><groupName>web</groupName></item></groupSet>
<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>
<blockDeviceMapping><item><deviceName>/dev/xvda</deviceName><ebs><volumeId>vol-{i:017x}</volumeId><status>attached</status>
<attachTime>2024-01-02T03:04:06.000Z</attachTime><deleteOnTermination>true</deleteOnTermination></ebs></item></blockDeviceMapping>
<virtualizationType>hvm</virtualizationType><clientToken/><tagSet><item><key>Name</key><value>web-{i}</value></item>
<item><key>team</key><value>payments</value></item></tagSet><hypervisor>xen</hypervisor>
<networkInterfaceSet><item><networkInterfaceId>eni-{i:017x}</networkInterfaceId><subnetId>subnet-0123456789abcdef0</subnetId>
<vpcId>vpc-0123456789abcdef0</vpcId><description/><ownerId>111122223333</ownerId><status>in-use</status>
<macAddress>02:00:00:00:{a:02x}:{b:02x}</macAddress><privateIpAddress>10.0.{a}.{b}</privateIpAddress><sourceDestCheck>true</sourceDestCheck>
<groupSet><item><groupId>sg-0123456789abcdef0</groupId><groupName>web</groupName></item></groupSet>
<attachment><attachmentId>eni-attach-{i:017x}</attachmentId><deviceIndex>0</deviceIndex><status>attached</status>
<attachTime>2024-01-02T03:04:05.000Z</attachTime><deleteOnTermination>true</deleteOnTermination></attachment>
<privateIpAddressesSet><item><privateIpAddress>10.0.{a}.{b}</privateIpAddress><primary>true</primary></item></privateIpAddressesSet>
</item></networkInterfaceSet><ebsOptimized>false</ebsOptimized><enaSupport>true</enaSupport>
<cpuOptions><coreCount>1</coreCount><threadsPerCore>2</threadsPerCore></cpuOptions>
<metadataOptions><state>applied</state><httpTokens>required</httpTokens><httpPutResponseHopLimit>1</httpPutResponseHopLimit><httpEndpoint>enabled</httpEndpoint></metadataOptions>
</item>"""


def main():
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
             '<requestId>8f7724cf-496f-496e-8fe3-example</requestId><reservationSet>']
    for r in range(0, N, 10):
        parts.append('<item><reservationId>r-%017x</reservationId><ownerId>111122223333</ownerId><groupSet/><instancesSet>' % r)
        for i in range(r, min(r + 10, N)):
            parts.append(INSTANCE.format(i=i, a=(i // 250) % 256, b=i % 250 + 1))
        parts.append('</instancesSet></item>')
    parts.append('</reservationSet></DescribeInstancesResponse>')
    with open(sys.argv[1], "w") as f:
        f.write("".join(parts))


if __name__ == "__main__":
    main()
