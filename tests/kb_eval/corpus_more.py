"""More sample documents: an FAQ, a table-heavy price list, a long operations PDF, an English FAQ."""

FAQ_MD = """# 云帆商城会员常见问题

## 会员等级

**问：会员等级是怎么划分的？**
答：会员分为普通会员、银卡会员、金卡会员和黑金会员四个等级，按过去十二个月的累计实付金额评定。累计满 2000 元升为银卡，满 8000 元升为金卡，满 30000 元升为黑金。

**问：会员等级多久重新评定一次？**
答：每月 1 日凌晨根据最近十二个月的消费自动重新评定，降级前会提前 7 天发送短信提醒。

## 积分

**问：积分怎么获得？**
答：每实付 1 元获得 1 积分，金卡会员双倍积分，黑金会员三倍积分。评价晒单可额外获得 20 积分，每月最多 10 次。

**问：积分有有效期吗？**
答：积分自获得之日起 24 个月内有效，过期自动清零，清零前 30 天会在 App 内提醒。

**问：积分能抵扣多少钱？**
答：100 积分抵扣 1 元，单笔订单最多抵扣实付金额的 30%。

## 优惠券

**问：优惠券可以叠加使用吗？**
答：同一订单只能使用一张店铺券和一张平台券，两张平台券不能叠加。

**问：退货后优惠券还会退回吗？**
答：整单退货且优惠券仍在有效期内的，优惠券自动退回账户；部分退货的，优惠券不退回。

## 配送

**问：下单后多久发货？**
答：现货商品在付款后 48 小时内发货，预售商品以商品页标注的发货时间为准。

**问：偏远地区包邮吗？**
答：新疆、西藏、青海的订单需加收 15 元运费，其他地区满 99 元包邮。

**问：可以指定送货时间吗？**
答：同城配送支持预约上午、下午或晚上三个时段，其他地区暂不支持指定时间。

## 账户与安全

**问：忘记登录密码怎么办？**
答：在登录页点击“忘记密码”，通过绑定手机收到的验证码重置，验证码 10 分钟内有效。

**问：如何注销账户？**
答：在“设置-账户与安全-注销账户”提交申请，审核期为 15 个工作日，注销后积分和优惠券全部作废且无法恢复。

**问：发现账户被盗怎么办？**
答：请立即拨打客服热线 400-820-6688 冻结账户，客服会在核实身份后协助找回。

## 发票

**问：怎么开发票？**
答：订单确认收货后可在订单详情页申请电子发票，个人和企业抬头均可开具，增值税专用发票需上传营业执照。

**问：发票开错了能换吗？**
答：电子发票开具后 90 天内可申请换开一次。
"""

PRICE_CSV = """型号,产品名称,类别,零售价（元）,保修期,能效等级,库存地
X3,X3 空气净化器,空气净化,2899,2年,一级,杭州仓
X5,X5 空气净化器,空气净化,3999,3年,一级,杭州仓
X3-F,X3 复合滤网,耗材,399,无,无,杭州仓
H1,H1 加湿器,加湿,699,1年,二级,广州仓
H2,H2 无雾加湿器,加湿,1299,2年,一级,广州仓
D1,D1 除湿机,除湿,1899,2年,一级,武汉仓
D2,D2 大容量除湿机,除湿,2999,3年,一级,武汉仓
F1,F1 循环扇,风扇,459,1年,二级,广州仓
F2,F2 落地扇,风扇,329,1年,三级,广州仓
W1,W1 净水器,净水,3299,3年,一级,成都仓
W1-R,W1 RO 反渗透滤芯,耗材,599,无,无,成都仓
W2,W2 台式净饮机,净水,2399,2年,二级,成都仓
S1,S1 扫地机器人,清洁,2199,2年,无,深圳仓
S2,S2 洗地机,清洁,2699,2年,无,深圳仓
S2-B,S2 滚刷套装,耗材,129,无,无,深圳仓
K1,K1 电热水壶,厨房,199,1年,无,佛山仓
K2,K2 破壁料理机,厨房,899,2年,无,佛山仓
K3,K3 空气炸锅,厨房,499,1年,无,佛山仓
L1,L1 护眼台灯,照明,349,2年,一级,苏州仓
L2,L2 智能吸顶灯,照明,799,3年,一级,苏州仓
T1,T1 智能门锁,安防,1599,3年,无,深圳仓
T2,T2 室内摄像头,安防,249,1年,无,深圳仓
"""

OPS_PDF = [
    "云帆科技 IT 运维手册\n第一章 总则\n本手册适用于公司全部生产系统、办公网络和员工终端。"
    "运维工作遵循“先备份、再变更、可回滚”的原则。所有变更须在变更管理系统登记，"
    "未登记的变更一律视为违规操作。",
    "第二章 值班制度\n运维部实行 7×24 小时值班，每班 12 小时，早班 8:00 至 20:00，夜班 20:00 至次日 8:00。"
    "交接班时须填写值班日志，写明未关闭的告警和进行中的变更。值班人员离岗超过 15 分钟须找人替班。",
    "第三章 告警分级\n告警分为 P1、P2、P3 三级。P1 指核心业务中断或数据丢失风险，须 5 分钟内响应、"
    "30 分钟内给出临时方案；P2 指部分功能受损，须 30 分钟内响应；P3 指不影响业务的隐患，"
    "在下一个工作日内处理即可。P1 告警须同时电话通知运维经理。",
    "第四章 变更窗口\n常规变更只能在每周二和周四 22:00 至次日 2:00 的变更窗口进行。"
    "紧急变更须经运维经理和业务负责人双人审批，并在事后 24 小时内补写变更报告。"
    "节假日前三天为封网期，除紧急修复外禁止任何变更。",
    "第五章 备份策略\n数据库每天 1:00 做全量备份，每小时做一次增量备份。备份文件保留 30 天，"
    "每月最后一个周五在异地机房做一次恢复演练。文件服务器每周日做全量备份，保留 12 周。",
    "第六章 账号与权限\n生产服务器禁止使用共享账号，一律通过堡垒机登录，堡垒机会话全程录像并保存 180 天。"
    "员工离职当天必须回收全部系统权限；转岗的员工在 3 个工作日内完成权限调整。"
    "管理员权限每季度复核一次。",
    "第七章 机房管理\n进入机房须提前一天在系统预约，并由运维人员陪同。机房温度保持在 18 至 27 摄氏度，"
    "相对湿度保持在 40% 至 60%。机房内禁止饮食和吸烟，纸箱等易燃包装须在机房外拆除。",
    "第八章 终端管理\n员工电脑须安装公司统一的杀毒软件和补丁管理客户端，系统补丁在发布后 14 天内完成安装。"
    "笔记本电脑须开启全盘加密。丢失公司电脑须在 2 小时内报告信息安全部。",
    "第九章 网络与 VPN\n办公网络分为员工网、访客网和研发网，访客网不能访问任何内网资源。"
    "远程办公须使用公司 VPN 并开启双因素认证，VPN 连接空闲 30 分钟后自动断开。",
    "第十章 故障复盘\nP1 和 P2 故障恢复后 3 个工作日内须召开复盘会，复盘报告须写明时间线、根本原因、"
    "影响范围和改进措施，改进措施须指定负责人和完成日期。复盘遵循对事不对人的原则。",
    "第十一章 容量管理\n服务器 CPU 平均使用率连续一周超过 70%、或磁盘使用率超过 80% 时须提交扩容申请。"
    "每季度末运维部发布容量报告，预测未来六个月的资源需求。",
    "第十二章 附则\n本手册由运维部负责解释，每年修订一次。违反本手册造成事故的，按公司奖惩制度处理。"
    "本手册自 2024 年 7 月 1 日起施行。",
]

BACKUP_FAQ_MD = """# CloudVault Backup — Frequently Asked Questions

## Plans and billing

**Which plans are available?**
There are three plans: Personal with 200 GB, Family with 2 TB shared by up to six people, and Business with 5 TB per seat.

**Can I switch plans in the middle of a billing cycle?**
Yes. Upgrades take effect immediately and are prorated; downgrades take effect at the start of the next billing cycle.

**Is there a free trial?**
Every plan comes with a 30-day free trial. No credit card is needed to start the trial.

## Backups

**How often are my files backed up?**
The desktop client backs up changed files continuously; a full scan of all folders runs once every 24 hours.

**How long are deleted files kept?**
Deleted files stay in the trash for 90 days on Family and Business plans and 30 days on the Personal plan.

**How many versions of a file are kept?**
CloudVault keeps up to 100 previous versions of each file, for up to one year.

**Does CloudVault back up external drives?**
External drives are backed up only on the Family and Business plans, and only while they are connected.

## Security

**Is my data encrypted?**
Files are encrypted with AES-256 on your device before upload and stay encrypted at rest. Transfers use TLS 1.3.

**What is a private encryption key?**
With a private key, only you can decrypt your files. If you lose the private key, support cannot recover your data.

**Does CloudVault support two-factor authentication?**
Yes. You can use an authenticator app or a hardware security key; SMS codes are not supported.

## Restoring

**How do I restore a whole computer?**
Sign in on the new computer, choose Restore from the client menu and pick the old device; files are restored in the background.

**Can you ship my data on a drive?**
Business customers can order a restore drive of up to 8 TB, delivered within five working days.

## Support

**How do I contact support?**
Chat support is available 24 hours a day in the app. Email support answers within one working day.

**Can I cancel at any time?**
You can cancel at any time from the account page. Annual plans cancelled within 14 days are refunded in full.
"""
